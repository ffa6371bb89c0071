//! CTranslate2 (faster-whisper) model directory -> legacy ggml whisper file, f16 or Q8_0.
//!
//! One streaming pass: the CT2 index is read first, then each ggml tensor is produced by
//! reading its rows from model.bin a chunk at a time, so memory stays at one chunk, not one
//! model. Hyper-parameters come from tensor shapes (head counts from CT2's `num_heads`
//! scalars, else width / 64 as in every whisper size). Name mapping, CT2 -> OpenAI:
//! `self_attention/linear_0` is Q,K,V stacked on rows (split in three), cross-attention
//! `attention/linear_1` is K,V (split in two), `gamma/beta` are LayerNorm weight/bias,
//! `ffn/linear_0/1` are `mlp.0/mlp.2`. CT2 keeps zero key biases; whisper has none, so they
//! are dropped. The result is checked with [`ggml::inspect`] before it is reported done.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ModelError;
use super::ct2::Ct2Model;
use super::ggml::{self, GgmlInfo, GgmlType, Hparams, Role, TensorSpec};
use super::quant::{self, Quant};
use super::{mel, vocab};

/// Where the pieces of a conversion come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertSources {
    /// The CT2 model directory (holding `model.bin`), or the `model.bin` itself.
    pub model: PathBuf,
    /// OpenAI's `mel_filters.npz`; default: `mel_filters.npz` beside `model.bin`, else the
    /// bank is computed (bit-identical to OpenAI's file).
    pub mel: Option<PathBuf>,
    /// `gpt2.tiktoken` / `multilingual.tiktoken`, or CT2's `vocabulary.json|txt`; default: the
    /// first of those found beside `model.bin`.
    pub vocab: Option<PathBuf>,
}

impl ConvertSources {
    /// Sources found beside `model` (a directory or a model.bin).
    pub fn new(model: impl Into<PathBuf>) -> ConvertSources {
        ConvertSources {
            model: model.into(),
            mel: None,
            vocab: None,
        }
    }

    fn dir(&self) -> PathBuf {
        if self.model.is_dir() {
            self.model.clone()
        } else {
            self.model
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        }
    }

    fn model_bin(&self) -> PathBuf {
        if self.model.is_dir() {
            self.model.join("model.bin")
        } else {
            self.model.clone()
        }
    }

    fn mel_filters(&self, n_mels: usize) -> Result<mel::MelFilters, ModelError> {
        let beside = self.dir().join("mel_filters.npz");
        match &self.mel {
            Some(path) => mel::read_npz(path, n_mels),
            None if beside.is_file() => mel::read_npz(&beside, n_mels),
            None => Ok(mel::slaney_filters(n_mels)),
        }
    }

    fn vocab_path(&self, multilingual: bool) -> Result<PathBuf, ModelError> {
        if let Some(p) = &self.vocab {
            return Ok(p.clone());
        }
        let tiktoken = if multilingual {
            "multilingual.tiktoken"
        } else {
            "gpt2.tiktoken"
        };
        [tiktoken, "vocabulary.json", "vocabulary.txt"]
            .iter()
            .map(|name| self.dir().join(name))
            .find(|p| p.is_file())
            .ok_or_else(|| ModelError::MissingInput {
                what: "a vocabulary (gpt2.tiktoken or vocabulary.txt)",
                searched: self.dir(),
                flag: "--vocab",
            })
    }
}

/// Converts a CT2 whisper model to a ggml file at `out` (overwritten), then validates it.
pub fn convert_ct2(
    sources: &ConvertSources,
    quant: Quant,
    out: &Path,
) -> Result<GgmlInfo, ModelError> {
    let mut model = Ct2Model::open(&sources.model_bin())?;
    if model.spec() != "WhisperSpec" {
        return Err(ModelError::Unsupported(format!(
            "{}: a CTranslate2 `{}` model, not a whisper model",
            model.path().display(),
            model.spec()
        )));
    }
    let hp = infer_hparams(&mut model, quant)?;
    let filters = sources.mel_filters(hp.n_mels as usize)?;
    let vocab_path = sources.vocab_path(!hp.is_english_only())?;
    let mut tokens = vocab::read(&vocab_path)?;
    if tokens.len() > hp.n_vocab as usize {
        return Err(ModelError::Garbled {
            path: vocab_path,
            offset: 0,
            what: format!("{} tokens for a model of {}", tokens.len(), hp.n_vocab),
        });
    }
    if hp.is_english_only() && tokens.len() < hp.n_vocab as usize {
        tokens.push(b"<|endoftext|>".to_vec());
    }

    let file = File::create(out).map_err(|e| ModelError::io(out, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let io = |e| ModelError::io(out, e);
    write_header(&mut w, &hp, &filters, &tokens).map_err(io)?;
    let wtype = hp.weight_type().expect("infer_hparams sets a known ftype");
    let mut rows = Vec::new();
    let mut bytes = Vec::new();
    for spec in ggml::layout(&hp) {
        write_tensor(&mut model, &spec, wtype, &mut w, &mut rows, &mut bytes, out)?;
    }
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    ggml::inspect(out)
}

/// Hyper-parameters from the shapes of the CT2 variables.
fn infer_hparams(m: &mut Ct2Model, quant: Quant) -> Result<Hparams, ModelError> {
    let dims = |m: &Ct2Model, name: &str, rank: usize| -> Result<Vec<i32>, ModelError> {
        let var = m.var(name)?;
        if var.shape.len() != rank {
            return Err(m.missing(
                name,
                &format!("expected rank {rank}, found {:?}", var.shape),
            ));
        }
        var.shape
            .iter()
            .map(|&d| i32::try_from(d).map_err(|_| m.missing(name, "dimension too large")))
            .collect()
    };
    let conv1 = dims(m, "encoder/conv1/weight", 3)?;
    let enc_pos = dims(m, "encoder/position_encodings/encodings", 2)?;
    let emb = dims(m, "decoder/embeddings/weight", 2)?;
    let dec_pos = dims(m, "decoder/position_encodings/encodings", 2)?;
    let layers = |m: &Ct2Model, side: &str| {
        (0..)
            .take_while(|i| {
                m.get(&format!("{side}/layer_{i}/self_attention/linear_0/weight"))
                    .is_some()
            })
            .count() as i32
    };
    let (n_audio_layer, n_text_layer) = (layers(m, "encoder"), layers(m, "decoder"));
    let n_audio_head = m.scalar("encoder/num_heads")?;
    let n_text_head = m.scalar("decoder/num_heads")?;
    let heads = |h: Option<i64>, state: i32| h.map_or(state / 64, |h| h as i32);
    let hp = Hparams {
        n_vocab: emb[0],
        n_audio_ctx: enc_pos[0],
        n_audio_state: enc_pos[1],
        n_audio_head: heads(n_audio_head, enc_pos[1]),
        n_audio_layer,
        n_text_ctx: dec_pos[0],
        n_text_state: emb[1],
        n_text_head: heads(n_text_head, emb[1]),
        n_text_layer,
        n_mels: conv1[1],
        ftype: match quant {
            Quant::F16 => 1,
            Quant::Q8_0 => 7 + 1000 * ggml::QNT_VERSION,
        },
    };
    let sane = hp.n_audio_layer > 0
        && hp.n_text_layer > 0
        && conv1[0] == hp.n_audio_state
        && conv1[2] == 3
        && dec_pos[1] == hp.n_text_state
        && hp.n_audio_head > 0
        && hp.n_text_head > 0;
    if !sane {
        return Err(ModelError::Unsupported(format!(
            "{}: not a whisper layout (conv1 {conv1:?}, encoder positions {enc_pos:?}, \
             embeddings {emb:?}, {n_audio_layer}+{n_text_layer} layers)",
            m.path().display()
        )));
    }
    if quant == Quant::Q8_0 && hp.n_audio_state % 32 != 0 {
        return Err(ModelError::Unsupported(format!(
            "width {} is not a multiple of 32: Q8_0 impossible, use f16",
            hp.n_audio_state
        )));
    }
    Ok(hp)
}

fn write_header(
    w: &mut impl Write,
    hp: &Hparams,
    filters: &mel::MelFilters,
    tokens: &[Vec<u8>],
) -> std::io::Result<()> {
    w.write_all(&ggml::MAGIC.to_le_bytes())?;
    for v in [
        hp.n_vocab,
        hp.n_audio_ctx,
        hp.n_audio_state,
        hp.n_audio_head,
        hp.n_audio_layer,
        hp.n_text_ctx,
        hp.n_text_state,
        hp.n_text_head,
        hp.n_text_layer,
        hp.n_mels,
        hp.ftype,
    ] {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(&(filters.rows as i32).to_le_bytes())?;
    w.write_all(&(filters.cols as i32).to_le_bytes())?;
    let mut buf = Vec::new();
    quant::push_f32(&filters.data, &mut buf);
    w.write_all(&buf)?;
    w.write_all(&(tokens.len() as i32).to_le_bytes())?;
    for t in tokens {
        w.write_all(&(t.len() as u32).to_le_bytes())?;
        w.write_all(t)?;
    }
    Ok(())
}

/// Which CT2 rows hold a ggml tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    pub var: String,
    /// Which slice of the stacked rows: (index, count), e.g. (1, 3) = K of QKV.
    pub part: Option<(u64, u64)>,
}

/// The CT2 variable (and row slice) behind OpenAI tensor `name`.
pub(crate) fn source(name: &str) -> Option<Source> {
    let whole = |var: &str| {
        Some(Source {
            var: var.to_string(),
            part: None,
        })
    };
    match name {
        "encoder.positional_embedding" => return whole("encoder/position_encodings/encodings"),
        "decoder.positional_embedding" => return whole("decoder/position_encodings/encodings"),
        "decoder.token_embedding.weight" => return whole("decoder/embeddings/weight"),
        "encoder.conv1.weight" => return whole("encoder/conv1/weight"),
        "encoder.conv1.bias" => return whole("encoder/conv1/bias"),
        "encoder.conv2.weight" => return whole("encoder/conv2/weight"),
        "encoder.conv2.bias" => return whole("encoder/conv2/bias"),
        "encoder.ln_post.weight" => return whole("encoder/layer_norm/gamma"),
        "encoder.ln_post.bias" => return whole("encoder/layer_norm/beta"),
        "decoder.ln.weight" => return whole("decoder/layer_norm/gamma"),
        "decoder.ln.bias" => return whole("decoder/layer_norm/beta"),
        _ => {}
    }
    let (side, rest) = name.split_once(".blocks.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (module, param) = rest.rsplit_once('.')?;
    let (ct2, part) = match module {
        "attn_ln" => ("self_attention/layer_norm", None),
        "attn.query" => ("self_attention/linear_0", Some((0, 3))),
        "attn.key" => ("self_attention/linear_0", Some((1, 3))),
        "attn.value" => ("self_attention/linear_0", Some((2, 3))),
        "attn.out" => ("self_attention/linear_1", None),
        "cross_attn_ln" => ("attention/layer_norm", None),
        "cross_attn.query" => ("attention/linear_0", None),
        "cross_attn.key" => ("attention/linear_1", Some((0, 2))),
        "cross_attn.value" => ("attention/linear_1", Some((1, 2))),
        "cross_attn.out" => ("attention/linear_2", None),
        "mlp_ln" => ("ffn/layer_norm", None),
        "mlp.0" => ("ffn/linear_0", None),
        "mlp.2" => ("ffn/linear_1", None),
        _ => return None,
    };
    let param = match (ct2.ends_with("layer_norm"), param) {
        (true, "weight") => "gamma",
        (true, "bias") => "beta",
        (false, p @ ("weight" | "bias")) => p,
        _ => return None,
    };
    Some(Source {
        var: format!("{side}/layer_{layer}/{ct2}/{param}"),
        part,
    })
}

/// Writes one tensor: header, then its rows converted chunk by chunk.
fn write_tensor(
    model: &mut Ct2Model,
    spec: &TensorSpec,
    wtype: GgmlType,
    w: &mut impl Write,
    rows: &mut Vec<f32>,
    bytes: &mut Vec<u8>,
    out: &Path,
) -> Result<(), ModelError> {
    let src = source(&spec.name).expect("every layout tensor has a CT2 source");
    let var = model.var(&src.var)?.clone();
    let (row0, nrows) = match src.part {
        None => (0, var.rows()),
        Some((index, count)) => {
            if var.rows() % count != 0 {
                return Err(model.missing(
                    &src.var,
                    &format!("{:?} rows not divisible by {count}", var.shape),
                ));
            }
            let n = var.rows() / count;
            (index * n, n)
        }
    };
    let row_len = var.row_len();
    let fits =
        nrows * row_len == spec.elements() && (spec.role != Role::Matrix || spec.ne[0] == row_len);
    if !fits {
        return Err(model.missing(
            &src.var,
            &format!(
                "shape {:?} does not fit `{}` {:?}",
                var.shape, spec.name, spec.ne
            ),
        ));
    }
    let ty = spec.ggml_type(wtype);
    let io = |e| ModelError::io(out, e);
    w.write_all(&(spec.ne.len() as i32).to_le_bytes())
        .map_err(io)?;
    w.write_all(&(spec.name.len() as i32).to_le_bytes())
        .map_err(io)?;
    w.write_all(&ty.id().to_le_bytes()).map_err(io)?;
    for &n in &spec.ne {
        w.write_all(&(n as i32).to_le_bytes()).map_err(io)?;
    }
    w.write_all(spec.name.as_bytes()).map_err(io)?;

    let chunk_rows = ((1 << 20) / row_len.max(1)).max(1);
    let mut done = 0;
    while done < nrows {
        let n = chunk_rows.min(nrows - done);
        model.read_rows(&src.var, row0 + done, n, rows)?;
        bytes.clear();
        match ty {
            GgmlType::F32 => quant::push_f32(rows, bytes),
            GgmlType::F16 => quant::push_f16(rows, bytes),
            GgmlType::Q8_0 => quant::push_q8_0(rows, bytes),
            other => unreachable!("the converter only writes f32/f16/q8_0, not {other:?}"),
        }
        w.write_all(bytes).map_err(io)?;
        done += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::models::ct2::tests::build;
    use crate::speech::models::ggml::tests::small_hparams;
    use crate::speech::models::mel::tests::npy_f32;

    #[test]
    fn every_layout_tensor_has_a_source_and_no_key_bias_is_asked_for() {
        let mut hp = small_hparams(1);
        hp.n_audio_layer = 2;
        hp.n_text_layer = 2;
        for spec in ggml::layout(&hp) {
            let src = source(&spec.name).unwrap_or_else(|| panic!("no source for {}", spec.name));
            assert!(!src.var.contains('.'), "{} -> {}", spec.name, src.var);
        }
        assert_eq!(
            source("decoder.blocks.1.cross_attn.value.bias"),
            Some(Source {
                var: "decoder/layer_1/attention/linear_1/bias".into(),
                part: Some((1, 2)),
            })
        );
        assert_eq!(
            source("encoder.blocks.0.attn_ln.weight").map(|s| s.var),
            Some("encoder/layer_0/self_attention/layer_norm/gamma".into())
        );
        assert_eq!(
            source("encoder.blocks.0.attn.key.bias").map(|s| s.part),
            Some(Some((1, 3)))
        );
    }

    /// A synthetic CT2 whisper (width 64, one layer each side, 4 mels) with values that
    /// identify their position, so the test can check rows land in the right tensor.
    fn synthetic_ct2(dir: &Path) {
        let (s, mels, vocab) = (64u32, 4u32, 51864u32);
        let mut vars: Vec<(String, Vec<u32>)> = vec![
            ("encoder/conv1/weight".into(), vec![s, mels, 3]),
            ("encoder/conv1/bias".into(), vec![s]),
            ("encoder/conv2/weight".into(), vec![s, s, 3]),
            ("encoder/conv2/bias".into(), vec![s]),
            ("encoder/position_encodings/encodings".into(), vec![8, s]),
            ("encoder/layer_norm/gamma".into(), vec![s]),
            ("encoder/layer_norm/beta".into(), vec![s]),
            ("decoder/embeddings/weight".into(), vec![vocab, s]),
            ("decoder/position_encodings/encodings".into(), vec![4, s]),
            ("decoder/layer_norm/gamma".into(), vec![s]),
            ("decoder/layer_norm/beta".into(), vec![s]),
        ];
        for side in ["encoder", "decoder"] {
            let p = format!("{side}/layer_0");
            for (m, out) in [
                ("self_attention/linear_0", 3 * s),
                ("self_attention/linear_1", s),
                ("ffn/linear_0", 4 * s),
            ] {
                vars.push((format!("{p}/{m}/weight"), vec![out, s]));
                vars.push((format!("{p}/{m}/bias"), vec![out]));
            }
            vars.push((format!("{p}/ffn/linear_1/weight"), vec![s, 4 * s]));
            vars.push((format!("{p}/ffn/linear_1/bias"), vec![s]));
            let mut norms = vec!["self_attention/layer_norm", "ffn/layer_norm"];
            if side == "decoder" {
                norms.push("attention/layer_norm");
                for (m, out) in [
                    ("attention/linear_0", s),
                    ("attention/linear_1", 2 * s),
                    ("attention/linear_2", s),
                ] {
                    vars.push((format!("{p}/{m}/weight"), vec![out, s]));
                    vars.push((format!("{p}/{m}/bias"), vec![out]));
                }
            }
            for n in norms {
                vars.push((format!("{p}/{n}/gamma"), vec![s]));
                vars.push((format!("{p}/{n}/beta"), vec![s]));
            }
        }
        // f16 data: element k of row r of variable v = (r % 7) - 3 + k / 1024 (exact in f16).
        let built: Vec<(&str, Vec<u32>, u8, Vec<u8>)> = vars
            .iter()
            .map(|(name, shape)| {
                let row_len: u32 = shape.iter().skip(1).product();
                let len: u32 = shape.iter().product();
                let data = (0..len)
                    .flat_map(|i| {
                        let (r, k) = (i / row_len.max(1), i % row_len.max(1));
                        let v = (r % 7) as f32 - 3.0 + (k % 64) as f32 / 1024.0;
                        quant::f32_to_f16(v).to_le_bytes()
                    })
                    .collect();
                (name.as_str(), shape.clone(), 4u8, data)
            })
            .collect();
        let mut with_heads = built;
        with_heads.push(("encoder/num_heads", vec![], 2, 2i16.to_le_bytes().to_vec()));
        std::fs::write(dir.join("model.bin"), build(&with_heads, &[])).expect("write model.bin");

        let npz = std::fs::File::create(dir.join("mel_filters.npz")).expect("create npz");
        let mut zip = zip::ZipWriter::new(npz);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("mel_4.npy", opts).expect("zip entry");
        zip.write_all(&npy_f32(4, 3, &[0.5; 12], false))
            .expect("zip data");
        zip.finish().expect("zip finish");
        std::fs::write(dir.join("vocabulary.txt"), "!\nĠgazed\n<|endoftext|>\n").expect("vocab");
    }

    #[test]
    fn converts_a_synthetic_model_and_splits_qkv() {
        let dir = tempfile::tempdir().expect("temp dir");
        synthetic_ct2(dir.path());
        for quant in [Quant::F16, Quant::Q8_0] {
            let out = dir.path().join(format!("out-{}.bin", quant.label()));
            let info = convert_ct2(&ConvertSources::new(dir.path()), quant, &out)
                .expect("conversion succeeds");
            assert_eq!(info.weights, quant.label());
            assert_eq!(info.hparams.n_audio_head, 2, "from encoder/num_heads");
            assert_eq!(info.hparams.n_text_head, 1, "width 64 / 64");
            assert_eq!(info.n_tokens, 3, "two tokens plus <|endoftext|>");
        }
        // In f16 the key weight is rows 64..128 of linear_0: row r holds (r % 7) - 3 + k/1024.
        let bytes = std::fs::read(dir.path().join("out-f16.bin")).expect("read output");
        let name = b"encoder.blocks.0.attn.key.weight";
        let at = bytes
            .windows(name.len())
            .position(|w| w == name)
            .expect("key tensor present")
            + name.len();
        let first = quant::f16_to_f32(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        assert_eq!(first, (64 % 7) as f32 - 3.0);
        assert!(
            !bytes
                .windows(b"attn.key.bias".len())
                .any(|w| w == b"attn.key.bias"),
            "whisper has no key bias"
        );
    }

    #[test]
    fn missing_inputs_and_truncated_model_are_precise() {
        let dir = tempfile::tempdir().expect("temp dir");
        synthetic_ct2(dir.path());
        let out = dir.path().join("out.bin");
        std::fs::remove_file(dir.path().join("mel_filters.npz")).expect("remove npz");
        let computed = convert_ct2(&ConvertSources::new(dir.path()), Quant::F16, &out)
            .expect("mel filters are computed when no npz is found");
        assert_eq!(computed.hparams.n_mels, 4);
        std::fs::remove_file(dir.path().join("vocabulary.txt")).expect("remove vocabulary");
        let err = convert_ct2(&ConvertSources::new(dir.path()), Quant::F16, &out)
            .expect_err("no vocabulary");
        assert!(err.to_string().contains("pass it with --vocab"), "{err}");

        synthetic_ct2(dir.path());
        let model = dir.path().join("model.bin");
        let bytes = std::fs::read(&model).expect("read model");
        std::fs::write(&model, &bytes[..bytes.len() / 2]).expect("truncate");
        let err = convert_ct2(&ConvertSources::new(dir.path()), Quant::F16, &out)
            .expect_err("truncated model");
        let text = err.to_string();
        assert!(text.contains("model.bin: truncated at byte"), "{text}");
        assert!(text.contains("data of variable"), "{text}");
    }
}
