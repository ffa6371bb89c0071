//! The `[llm]` client: asks an OpenAI-compatible chat endpoint to rephrase a reply, and keeps
//! the rephrasing only if `phrasing::check` passes it. Any failure (down, slow, a refusal, an
//! answer that adds a fact) leaves the reply as the assistant wrote it, logged and counted.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::LlmSection;
use crate::dialogue::assistant::phrasing::{self, PhraseRequest};

pub struct Llm {
    config: LlmSection,
    url: String,
    key: Option<String>,
    agent: ureq::Agent,
}

impl Llm {
    /// The client `[llm]` describes, if it names a URL.
    pub fn from_config(config: &LlmSection) -> Option<Arc<Llm>> {
        let base = config.url.as_deref()?;
        let key = config
            .api_key_env
            .as_deref()
            .and_then(|var| std::env::var(var).ok());
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(config.timeout_ms)))
            .http_status_as_error(false)
            .build()
            .into();
        tracing::info!(url = base, model = %config.model, "replies may be rephrased by a language model");
        Some(Arc::new(Llm {
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            config: config.clone(),
            key,
            agent,
        }))
    }

    /// The model's rephrasing of `request`'s reply, checked; an error says why there is none.
    pub fn phrase_blocking(&self, request: &PhraseRequest) -> Result<String, String> {
        let body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "temperature": 0.3,
            "max_tokens": 160,
        });
        let mut call = self.agent.post(&self.url);
        if let Some(key) = &self.key {
            call = call.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = call
            .send_json(&body)
            .map_err(|e| format!("{}: {e}", self.url))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(format!("{}: HTTP status {status}", self.url));
        }
        let answer: Value = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_json()
            .map_err(|e| format!("{}: bad answer: {e}", self.url))?;
        let text = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| format!("{}: no choices[0].message.content", self.url))?;
        phrasing::check(request, text).map_err(|why| format!("rephrasing rejected: {why}"))
    }
}

/// The rephrased reply, or why there is none (logged and counted): the reply is then said as
/// written.
pub async fn phrase(llm: Arc<Llm>, request: PhraseRequest) -> Result<String, String> {
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || llm.phrase_blocking(&request))
        .await
        .unwrap_or_else(|e| Err(format!("phrasing task: {e}")));
    metrics::histogram!("kefu_llm_seconds").record(started.elapsed().as_secs_f64());
    if let Err(why) = &result {
        metrics::counter!("kefu_llm_fallbacks_total").increment(1);
        tracing::warn!(reason = %why, "reply said as written");
    }
    result
}
