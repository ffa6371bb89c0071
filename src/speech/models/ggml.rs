//! The legacy ggml whisper file: layout, and a validator that walks a whole file before
//! whisper.cpp is allowed to load it.
//!
//! Layout (whisper.cpp `whisper_model_load`): u32 magic `0x67676d6c`; eleven i32
//! hyper-parameters ([`Hparams`]); mel filters (i32 rows, i32 cols, f32 data); vocabulary (i32
//! count, then u32 length + bytes per token); tensors until the end of the file, each i32
//! n_dims, i32 name length, i32 ggml type, n_dims i32 sizes innermost first, the name, the data.
//!
//! whisper.cpp trusts these numbers: a garbled ftype aborts the process (`GGML_ASSERT`), a
//! garbled size allocates gigabytes, more than four dimensions overflow a stack array. So
//! [`inspect`] checks every field against the exact tensor set whisper.cpp will ask for.

use std::collections::HashMap;
use std::path::Path;

use super::ModelError;
use super::cursor::Cursor;

/// `ggml` in ASCII, little-endian.
pub const MAGIC: u32 = 0x6767_6d6c;
/// ggml's quantisation format version, stored as `ftype + 1000 * version`.
pub const QNT_VERSION: i32 = 2;
const QNT_VERSION_FACTOR: i32 = 1000;

/// The eleven hyper-parameters at the head of a ggml whisper file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Hparams {
    /// Vocabulary size including special tokens (51864 English-only, 51865+ multilingual).
    pub n_vocab: i32,
    /// Encoder positions (1500 = 30 s).
    pub n_audio_ctx: i32,
    /// Encoder width.
    pub n_audio_state: i32,
    /// Encoder attention heads.
    pub n_audio_head: i32,
    /// Encoder layers.
    pub n_audio_layer: i32,
    /// Decoder positions (448).
    pub n_text_ctx: i32,
    /// Decoder width.
    pub n_text_state: i32,
    /// Decoder attention heads.
    pub n_text_head: i32,
    /// Decoder layers.
    pub n_text_layer: i32,
    /// Mel bands (80, or 128 for large-v3).
    pub n_mels: i32,
    /// ggml file type plus `1000 * quantisation version`.
    pub ftype: i32,
}

impl Hparams {
    /// The weight type of the big matrices, from `ftype`.
    pub fn weight_type(&self) -> Option<GgmlType> {
        GgmlType::for_ftype(self.ftype % QNT_VERSION_FACTOR)
    }

    /// Whether the model is English-only.
    pub fn is_english_only(&self) -> bool {
        self.n_vocab < 51865
    }

    /// The model's conventional name: `tiny`, `base.en`, `large-v3`, `large-v3-turbo`…
    pub fn model_name(&self) -> String {
        let size = match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 if self.n_vocab == 51866 && self.n_text_layer == 4 => "large-v3-turbo",
            32 if self.n_vocab == 51866 => "large-v3",
            32 => "large",
            n => return format!("whisper-{n}L"),
        };
        if self.n_vocab == 51864 {
            format!("{size}.en")
        } else {
            size.to_string()
        }
    }

    /// Checks the numbers are ones whisper.cpp can build a model from.
    fn check(&self) -> Result<(), String> {
        let fields = [
            ("n_vocab", self.n_vocab, 1_000_000),
            ("n_audio_ctx", self.n_audio_ctx, 1 << 16),
            ("n_audio_state", self.n_audio_state, 1 << 14),
            ("n_audio_head", self.n_audio_head, 1 << 10),
            ("n_audio_layer", self.n_audio_layer, 1 << 10),
            ("n_text_ctx", self.n_text_ctx, 1 << 16),
            ("n_text_state", self.n_text_state, 1 << 14),
            ("n_text_head", self.n_text_head, 1 << 10),
            ("n_text_layer", self.n_text_layer, 1 << 10),
            ("n_mels", self.n_mels, 1 << 10),
        ];
        for (name, value, max) in fields {
            if !(1..=max).contains(&value) {
                return Err(format!("hyper-parameter {name} = {value} is out of range"));
            }
        }
        if self.n_audio_state != self.n_text_state {
            return Err(format!(
                "n_audio_state {} != n_text_state {} (whisper.cpp requires them equal)",
                self.n_audio_state, self.n_text_state
            ));
        }
        if self.n_audio_state % self.n_audio_head != 0 || self.n_text_state % self.n_text_head != 0
        {
            return Err("attention heads do not divide the model width".into());
        }
        let version = self.ftype / QNT_VERSION_FACTOR;
        if self.ftype < 0 || version > QNT_VERSION || self.weight_type().is_none() {
            return Err(format!("unsupported ftype {}", self.ftype));
        }
        Ok(())
    }
}

/// A ggml tensor element type, with the sizes needed to walk a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half float.
    F16,
    /// 4-bit blocks of 32 with an f16 scale.
    Q4_0,
    /// 4-bit blocks of 32 with an f16 scale and minimum.
    Q4_1,
    /// 5-bit blocks of 32 with an f16 scale.
    Q5_0,
    /// 5-bit blocks of 32 with an f16 scale and minimum.
    Q5_1,
    /// 8-bit blocks of 32 with an f16 scale.
    Q8_0,
    /// 2-bit k-quant super-blocks of 256.
    Q2K,
    /// 3-bit k-quant super-blocks of 256.
    Q3K,
    /// 4-bit k-quant super-blocks of 256.
    Q4K,
    /// 5-bit k-quant super-blocks of 256.
    Q5K,
    /// 6-bit k-quant super-blocks of 256.
    Q6K,
    /// bfloat16.
    Bf16,
}

impl GgmlType {
    /// The type with ggml id `id` (`enum ggml_type`), if it is one whisper files use.
    pub fn from_id(id: i32) -> Option<GgmlType> {
        Some(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            6 => GgmlType::Q5_0,
            7 => GgmlType::Q5_1,
            8 => GgmlType::Q8_0,
            10 => GgmlType::Q2K,
            11 => GgmlType::Q3K,
            12 => GgmlType::Q4K,
            13 => GgmlType::Q5K,
            14 => GgmlType::Q6K,
            30 => GgmlType::Bf16,
            _ => return None,
        })
    }

    /// The ggml id.
    pub fn id(self) -> i32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q5_0 => 6,
            GgmlType::Q5_1 => 7,
            GgmlType::Q8_0 => 8,
            GgmlType::Q2K => 10,
            GgmlType::Q3K => 11,
            GgmlType::Q4K => 12,
            GgmlType::Q5K => 13,
            GgmlType::Q6K => 14,
            GgmlType::Bf16 => 30,
        }
    }

    /// The matrix type of ggml file type `ftype` (`ggml_ftype_to_ggml_type`).
    pub fn for_ftype(ftype: i32) -> Option<GgmlType> {
        Some(match ftype {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            7 => GgmlType::Q8_0,
            8 => GgmlType::Q5_0,
            9 => GgmlType::Q5_1,
            10 => GgmlType::Q2K,
            11 => GgmlType::Q3K,
            12 => GgmlType::Q4K,
            13 => GgmlType::Q5K,
            14 => GgmlType::Q6K,
            24 => GgmlType::Bf16,
            _ => return None,
        })
    }

    /// (values per block, bytes per block), from ggml's type traits.
    pub fn block(self) -> (u64, u64) {
        match self {
            GgmlType::F32 => (1, 4),
            GgmlType::F16 | GgmlType::Bf16 => (1, 2),
            GgmlType::Q4_0 => (32, 18),
            GgmlType::Q4_1 => (32, 20),
            GgmlType::Q5_0 => (32, 22),
            GgmlType::Q5_1 => (32, 24),
            GgmlType::Q8_0 => (32, 34),
            GgmlType::Q2K => (256, 84),
            GgmlType::Q3K => (256, 110),
            GgmlType::Q4K => (256, 144),
            GgmlType::Q5K => (256, 176),
            GgmlType::Q6K => (256, 210),
        }
    }

    /// Bytes taken by `elements` values, or `None` if they are not whole blocks.
    pub fn bytes_for(self, elements: u64) -> Option<u64> {
        let (per_block, block_bytes) = self.block();
        elements
            .is_multiple_of(per_block)
            .then(|| elements / per_block * block_bytes)
    }

    /// Lower-case name as in model file names (`f16`, `q8_0`, `q5_1`…).
    pub fn label(self) -> &'static str {
        match self {
            GgmlType::F32 => "f32",
            GgmlType::F16 => "f16",
            GgmlType::Q4_0 => "q4_0",
            GgmlType::Q4_1 => "q4_1",
            GgmlType::Q5_0 => "q5_0",
            GgmlType::Q5_1 => "q5_1",
            GgmlType::Q8_0 => "q8_0",
            GgmlType::Q2K => "q2_k",
            GgmlType::Q3K => "q3_k",
            GgmlType::Q4K => "q4_k",
            GgmlType::Q5K => "q5_k",
            GgmlType::Q6K => "q6_k",
            GgmlType::Bf16 => "bf16",
        }
    }
}

/// How a tensor is stored, which decides its element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A 2-D weight matrix: the file's weight type (f16, Q8_0…).
    Matrix,
    /// A convolution kernel: f16, or f32 in an all-f32 file.
    Conv,
    /// Norms, biases and positional embeddings: always f32.
    Float,
}

/// One tensor whisper.cpp expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// Name as in OpenAI's state dict, e.g. `encoder.blocks.0.attn.query.weight`.
    pub name: String,
    /// Sizes, innermost first (ggml `ne`).
    pub ne: Vec<u64>,
    /// Storage class.
    pub role: Role,
}

impl TensorSpec {
    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.ne.iter().product()
    }

    /// The element type this tensor must have in a file of weight type `wtype`.
    pub fn ggml_type(&self, wtype: GgmlType) -> GgmlType {
        match (self.role, wtype) {
            (Role::Float, _) | (_, GgmlType::F32) => GgmlType::F32,
            (Role::Conv, _) => GgmlType::F16,
            (Role::Matrix, w) => w,
        }
    }
}

/// The full tensor set of a whisper model with these hyper-parameters, in the order
/// OpenAI's converter writes them (whisper.cpp accepts any order).
pub fn layout(hp: &Hparams) -> Vec<TensorSpec> {
    let mut out = Vec::new();
    let mut push = |name: String, ne: &[i32], role: Role| {
        let ne = ne.iter().map(|&n| u64::try_from(n).unwrap_or(0)).collect();
        out.push(TensorSpec { name, ne, role });
    };
    let (s, t) = (hp.n_audio_state, hp.n_text_state);
    push(
        "encoder.positional_embedding".into(),
        &[s, hp.n_audio_ctx],
        Role::Float,
    );
    push(
        "encoder.conv1.weight".into(),
        &[3, hp.n_mels, s],
        Role::Conv,
    );
    push("encoder.conv1.bias".into(), &[1, s], Role::Float);
    push("encoder.conv2.weight".into(), &[3, s, s], Role::Conv);
    push("encoder.conv2.bias".into(), &[1, s], Role::Float);
    for i in 0..hp.n_audio_layer {
        block(&mut push, &format!("encoder.blocks.{i}"), s, false);
    }
    push("encoder.ln_post.weight".into(), &[s], Role::Float);
    push("encoder.ln_post.bias".into(), &[s], Role::Float);
    push(
        "decoder.positional_embedding".into(),
        &[t, hp.n_text_ctx],
        Role::Float,
    );
    push(
        "decoder.token_embedding.weight".into(),
        &[t, hp.n_vocab],
        Role::Matrix,
    );
    for i in 0..hp.n_text_layer {
        block(&mut push, &format!("decoder.blocks.{i}"), t, true);
    }
    push("decoder.ln.weight".into(), &[t], Role::Float);
    push("decoder.ln.bias".into(), &[t], Role::Float);
    out
}

/// One transformer block's tensors (whisper has no key bias).
fn block(push: &mut impl FnMut(String, &[i32], Role), prefix: &str, n: i32, cross: bool) {
    let attention = |push: &mut dyn FnMut(String, &[i32], Role), attn: &str| {
        push(format!("{prefix}.{attn}_ln.weight"), &[n], Role::Float);
        push(format!("{prefix}.{attn}_ln.bias"), &[n], Role::Float);
        for part in ["query", "key", "value", "out"] {
            push(
                format!("{prefix}.{attn}.{part}.weight"),
                &[n, n],
                Role::Matrix,
            );
            if part != "key" {
                push(format!("{prefix}.{attn}.{part}.bias"), &[n], Role::Float);
            }
        }
    };
    attention(push, "attn");
    if cross {
        attention(push, "cross_attn");
    }
    push(format!("{prefix}.mlp_ln.weight"), &[n], Role::Float);
    push(format!("{prefix}.mlp_ln.bias"), &[n], Role::Float);
    push(format!("{prefix}.mlp.0.weight"), &[n, 4 * n], Role::Matrix);
    push(format!("{prefix}.mlp.0.bias"), &[4 * n], Role::Float);
    push(format!("{prefix}.mlp.2.weight"), &[4 * n, n], Role::Matrix);
    push(format!("{prefix}.mlp.2.bias"), &[n], Role::Float);
}

/// What [`inspect`] found in a valid file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GgmlInfo {
    /// The hyper-parameters.
    pub hparams: Hparams,
    /// Conventional model name from the hyper-parameters (`tiny.en`, `large-v3`…).
    pub name: String,
    /// Weight type label (`f16`, `q8_0`…).
    pub weights: &'static str,
    /// Tokens in the embedded vocabulary.
    pub n_tokens: u32,
    /// Tensors in the file.
    pub n_tensors: usize,
    /// File size in bytes.
    pub file_size: u64,
}

/// Reads and validates the whole of a ggml whisper file without loading the weights.
pub fn inspect(path: &Path) -> Result<GgmlInfo, ModelError> {
    let mut c = Cursor::open(path)?;
    let magic = c.u32("magic")?;
    if magic != MAGIC {
        let what = if magic == u32::from_le_bytes(*b"GGUF") {
            "a GGUF file, not a ggml whisper model".to_string()
        } else {
            format!("not a ggml whisper model (magic {magic:#010x}, expected {MAGIC:#010x})")
        };
        return Err(c.garbled_at(0, what));
    }
    let mut fields = [0i32; 11];
    for f in &mut fields {
        *f = c.i32("hyper-parameters")?;
    }
    let [
        n_vocab,
        n_audio_ctx,
        n_audio_state,
        n_audio_head,
        n_audio_layer,
        n_text_ctx,
        n_text_state,
        n_text_head,
        n_text_layer,
        n_mels,
        ftype,
    ] = fields;
    let hparams = Hparams {
        n_vocab,
        n_audio_ctx,
        n_audio_state,
        n_audio_head,
        n_audio_layer,
        n_text_ctx,
        n_text_state,
        n_text_head,
        n_text_layer,
        n_mels,
        ftype,
    };
    hparams.check().map_err(|what| c.garbled_at(4, what))?;
    let wtype = hparams
        .weight_type()
        .expect("Hparams::check accepted the ftype");

    let mel_at = c.pos();
    let mel_rows = c.i32("mel filter rows")?;
    let mel_cols = c.i32("mel filter columns")?;
    if mel_rows != n_mels || !(1..=4096).contains(&mel_cols) {
        return Err(c.garbled_at(
            mel_at,
            format!("mel filters are {mel_rows}x{mel_cols}, expected {n_mels} rows"),
        ));
    }
    c.skip(mel_rows as u64 * mel_cols as u64 * 4, "mel filters")?;

    let vocab_at = c.pos();
    let n_tokens = c.i32("vocabulary size")?;
    if !(0..=n_vocab).contains(&n_tokens) {
        return Err(c.garbled_at(
            vocab_at,
            format!("vocabulary of {n_tokens} tokens (n_vocab is {n_vocab})"),
        ));
    }
    for i in 0..n_tokens {
        let len = c.u32("token length")?;
        if len > 4096 {
            return Err(c.garbled_at(c.pos() - 4, format!("token {i} is {len} bytes long")));
        }
        c.skip(u64::from(len), "token bytes")?;
    }

    let specs = layout(&hparams);
    let mut expected: HashMap<&str, &TensorSpec> =
        specs.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut n_tensors = 0;
    while c.remaining() > 0 {
        if expected.is_empty() {
            return Err(c.garbled(format!(
                "{} stray bytes after the last tensor",
                c.remaining()
            )));
        }
        read_tensor(&mut c, &mut expected, wtype)?;
        n_tensors += 1;
    }
    if let Some(missing) = specs
        .iter()
        .find(|s| expected.contains_key(s.name.as_str()))
    {
        return Err(ModelError::Truncated {
            path: path.to_path_buf(),
            offset: c.len(),
            what: format!(
                "tensor `{}` ({} of {} tensors present)",
                missing.name,
                n_tensors,
                specs.len()
            ),
        });
    }
    Ok(GgmlInfo {
        name: hparams.model_name(),
        weights: wtype.label(),
        hparams,
        n_tokens: n_tokens as u32,
        n_tensors,
        file_size: c.len(),
    })
}

/// Reads one tensor header, checks it against the expected set, and skips its data.
fn read_tensor(
    c: &mut Cursor,
    expected: &mut HashMap<&str, &TensorSpec>,
    wtype: GgmlType,
) -> Result<(), ModelError> {
    let at = c.pos();
    let n_dims = c.i32("tensor header")?;
    let name_len = c.i32("tensor header")?;
    let type_id = c.i32("tensor header")?;
    if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
        return Err(c.garbled_at(
            at,
            format!("tensor header with {n_dims} dimensions and a {name_len}-byte name"),
        ));
    }
    let mut ne = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        let n = c.i32("tensor dimensions")?;
        if n < 1 {
            return Err(c.garbled_at(at, format!("tensor dimension {n}")));
        }
        ne.push(n as u64);
    }
    let name_bytes = c.read_vec(name_len as u64, "tensor name")?;
    let name = String::from_utf8_lossy(&name_bytes).into_owned();
    let Some(spec) = expected.remove(name.as_str()) else {
        return Err(c.garbled_at(at, format!("unexpected or repeated tensor `{name}`")));
    };
    let elements: u64 = ne.iter().product();
    let mut padded = ne.clone();
    padded.resize(spec.ne.len().max(ne.len()), 1);
    let mut want = spec.ne.clone();
    want.resize(padded.len(), 1);
    if padded != want || elements > i32::MAX as u64 {
        return Err(c.garbled_at(
            at,
            format!("tensor `{name}` has shape {ne:?}, expected {:?}", spec.ne),
        ));
    }
    let want_type = spec.ggml_type(wtype);
    let ttype = GgmlType::from_id(type_id);
    if ttype != Some(want_type) {
        let found = ttype.map_or_else(|| format!("type id {type_id}"), |t| t.label().to_string());
        return Err(c.garbled_at(
            at,
            format!("tensor `{name}` is {found}, expected {}", want_type.label()),
        ));
    }
    let nbytes = want_type.bytes_for(elements).ok_or_else(|| {
        c.garbled_at(
            at,
            format!("tensor `{name}` is not whole {} blocks", want_type.label()),
        )
    })?;
    c.skip(nbytes, &format!("data of tensor `{name}`"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A tiny but complete model: 1 layer each, width 64, 2 heads.
    pub(crate) fn small_hparams(ftype: i32) -> Hparams {
        Hparams {
            n_vocab: 51864,
            n_audio_ctx: 8,
            n_audio_state: 64,
            n_audio_head: 2,
            n_audio_layer: 1,
            n_text_ctx: 4,
            n_text_state: 64,
            n_text_head: 2,
            n_text_layer: 1,
            n_mels: 4,
            ftype,
        }
    }

    /// Serialises a valid file with zeroed data for `hp`.
    pub(crate) fn write_model(hp: &Hparams, tokens: &[&[u8]]) -> Vec<u8> {
        let mut out = MAGIC.to_le_bytes().to_vec();
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
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&hp.n_mels.to_le_bytes());
        out.extend_from_slice(&3i32.to_le_bytes());
        out.extend(std::iter::repeat_n(0u8, hp.n_mels as usize * 3 * 4));
        out.extend_from_slice(&(tokens.len() as i32).to_le_bytes());
        for t in tokens {
            out.extend_from_slice(&(t.len() as u32).to_le_bytes());
            out.extend_from_slice(t);
        }
        let wtype = hp.weight_type().expect("test ftype is valid");
        for spec in layout(hp) {
            let ty = spec.ggml_type(wtype);
            out.extend_from_slice(&(spec.ne.len() as i32).to_le_bytes());
            out.extend_from_slice(&(spec.name.len() as i32).to_le_bytes());
            out.extend_from_slice(&ty.id().to_le_bytes());
            for n in &spec.ne {
                out.extend_from_slice(&(*n as i32).to_le_bytes());
            }
            out.extend_from_slice(spec.name.as_bytes());
            let n = ty.bytes_for(spec.elements()).expect("whole blocks");
            out.extend(std::iter::repeat_n(0u8, n as usize));
        }
        out
    }

    fn temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(bytes).expect("write temp file");
        f
    }

    fn error_of(bytes: &[u8]) -> String {
        let f = temp(bytes);
        inspect(f.path()).expect_err("must be rejected").to_string()
    }

    #[test]
    fn accepts_a_complete_file_and_names_it() {
        for (ftype, label) in [(1, "f16"), (2007, "q8_0"), (0, "f32")] {
            let hp = small_hparams(ftype);
            let f = temp(&write_model(&hp, &[b"a", b"bc"]));
            let info = inspect(f.path()).expect("valid file");
            assert_eq!(info.weights, label);
            assert_eq!(info.n_tokens, 2);
            assert_eq!(info.n_tensors, 11 + 15 + 24);
            assert_eq!(info.name, "whisper-1L");
        }
    }

    #[test]
    fn model_names_follow_layers_and_vocabulary() {
        let mut hp = small_hparams(1);
        hp.n_audio_layer = 4;
        assert_eq!(hp.model_name(), "tiny.en");
        hp.n_vocab = 51865;
        assert_eq!(hp.model_name(), "tiny");
        hp.n_audio_layer = 32;
        hp.n_vocab = 51866;
        assert_eq!(hp.model_name(), "large-v3");
        hp.n_text_layer = 4;
        assert_eq!(hp.model_name(), "large-v3-turbo");
    }

    #[test]
    fn every_truncation_point_is_a_precise_error() {
        let bytes = write_model(&small_hparams(2007), &[b"tok"]);
        // Cut at a spread of points, including inside headers, names and data.
        for cut in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
            let err = error_of(&bytes[..cut]);
            assert!(err.contains("truncated at byte"), "cut {cut}: {err}");
        }
    }

    #[test]
    fn wrong_magic_and_gguf_are_named() {
        let mut bytes = write_model(&small_hparams(1), &[]);
        bytes[..4].copy_from_slice(b"GGUF");
        assert!(error_of(&bytes).contains("GGUF"));
        bytes[..4].copy_from_slice(b"\x7fELF");
        assert!(error_of(&bytes).contains("at byte 0: not a ggml whisper model"));
    }

    #[test]
    fn garbled_fields_are_rejected_with_offsets() {
        let good = write_model(&small_hparams(1), &[]);
        let mut bad_ftype = good.clone();
        bad_ftype[44..48].copy_from_slice(&5i32.to_le_bytes());
        assert!(error_of(&bad_ftype).contains("unsupported ftype 5"));

        let mut huge_mels = good.clone();
        huge_mels[48..52].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(error_of(&huge_mels).contains("at byte 48: mel filters"));

        let mut stray = good.clone();
        stray.extend_from_slice(&[1, 2, 3]);
        assert!(error_of(&stray).contains("3 stray bytes"));

        // First tensor header starts after magic, hparams, mel (8 + 4*3*4) and vocab count.
        let first = 4 + 44 + 8 + 48 + 4;
        let mut dims = good.clone();
        dims[first..first + 4].copy_from_slice(&7i32.to_le_bytes());
        assert!(error_of(&dims).contains(&format!("at byte {first}: tensor header with 7")));

        let mut ttype = good.clone();
        ttype[first + 8..first + 12].copy_from_slice(&8i32.to_le_bytes());
        let err = error_of(&ttype);
        assert!(err.contains("is q8_0, expected f32"), "{err}");

        let mut name = good;
        name[first + 20] = b'X';
        assert!(error_of(&name).contains("unexpected or repeated tensor"));
    }

    #[test]
    fn layout_counts_match_whisper_cpp() {
        let mut hp = small_hparams(1);
        hp.n_audio_layer = 4;
        hp.n_text_layer = 4;
        // whisper.cpp: 10 + 15 + 15*layers + 24*layers is its upper bound; the exact set is:
        assert_eq!(layout(&hp).len(), 11 + 15 * 4 + 24 * 4);
    }
}
