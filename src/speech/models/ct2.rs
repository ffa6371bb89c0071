//! Reader for CTranslate2 `model.bin` files (binary versions 4–6, as written by faster-whisper's
//! converters): an index of variables with their file offsets, and row-range reads as f32.
//!
//! Layout (CTranslate2 `src/models/model.cc`): u32 binary version; u16-length spec name and u32
//! revision; u32 variable count; per variable a u16-length NUL-terminated name, u8 rank, u32
//! dims, u8 dtype, u32 byte count and the raw row-major data; then u32 alias count and
//! (alias, target) name pairs. int8 variables carry a per-row f32 `<name>_scale`, with
//! `value = q / scale`.

use std::collections::HashMap;
use std::path::Path;

use super::ModelError;
use super::cursor::Cursor;
use super::quant::{bf16_to_f32, f16_to_f32};

/// The element type of a CTranslate2 variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// 32-bit float.
    F32,
    /// 8-bit signed integer (quantised weights, or small scalars).
    I8,
    /// 16-bit signed integer.
    I16,
    /// 32-bit signed integer.
    I32,
    /// IEEE half float.
    F16,
    /// bfloat16.
    Bf16,
}

impl Dtype {
    fn from_id(id: u8) -> Option<Dtype> {
        Some(match id {
            0 => Dtype::F32,
            1 => Dtype::I8,
            2 => Dtype::I16,
            3 => Dtype::I32,
            4 => Dtype::F16,
            5 => Dtype::Bf16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            Dtype::I8 => 1,
            Dtype::I16 | Dtype::F16 | Dtype::Bf16 => 2,
            Dtype::F32 | Dtype::I32 => 4,
        }
    }
}

/// One variable of the index.
#[derive(Debug, Clone)]
pub struct Variable {
    /// Dimensions, outermost first (row-major).
    pub shape: Vec<u64>,
    /// Element type.
    pub dtype: Dtype,
    /// Offset of the raw data in the file.
    pub offset: u64,
}

impl Variable {
    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.shape.iter().product()
    }

    /// Whether the variable holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of rows (the first dimension; 1 for scalars).
    pub fn rows(&self) -> u64 {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Elements per row.
    pub fn row_len(&self) -> u64 {
        self.shape.iter().skip(1).product()
    }
}

/// Binary versions whose layout this reader knows.
const VERSIONS: std::ops::RangeInclusive<u32> = 4..=6;

/// An opened `model.bin` with its variable index.
pub struct Ct2Model {
    cursor: Cursor,
    spec: String,
    vars: HashMap<String, Variable>,
    aliases: HashMap<String, String>,
}

impl Ct2Model {
    /// Reads the index of `path` (skipping over the data) and checks every variable fits in
    /// the file.
    pub fn open(path: &Path) -> Result<Ct2Model, ModelError> {
        let mut c = Cursor::open(path)?;
        let version = c.u32("binary version")?;
        if !VERSIONS.contains(&version) {
            return Err(c.garbled_at(
                0,
                format!(
                    "not a CTranslate2 model.bin of a known version (binary version {version}, \
                     expected {}..={})",
                    VERSIONS.start(),
                    VERSIONS.end()
                ),
            ));
        }
        let spec = read_name(&mut c, "spec name")?;
        let _revision = c.u32("spec revision")?;
        let count = c.u32("variable count")?;
        let mut vars = HashMap::new();
        for i in 0..count {
            let start = c.pos();
            let name = read_name(&mut c, &format!("name of variable {i}"))?;
            let rank = c.u8("variable rank")?;
            if rank > 8 {
                return Err(c.garbled_at(start, format!("variable `{name}` has rank {rank}")));
            }
            let mut shape = Vec::with_capacity(usize::from(rank));
            for _ in 0..rank {
                shape.push(u64::from(c.u32("variable dimension")?));
            }
            let dtype_id = c.u8("variable dtype")?;
            let dtype = Dtype::from_id(dtype_id).ok_or_else(|| {
                c.garbled_at(
                    start,
                    format!("variable `{name}` has unknown dtype {dtype_id}"),
                )
            })?;
            let nbytes = u64::from(c.u32("variable byte count")?);
            let elements = shape
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .unwrap_or(u64::MAX);
            if elements.checked_mul(dtype.size()) != Some(nbytes) {
                return Err(c.garbled_at(
                    start,
                    format!(
                        "variable `{name}` {shape:?} {dtype:?} announces {nbytes} bytes, \
                         expected {}",
                        elements.saturating_mul(dtype.size())
                    ),
                ));
            }
            let offset = c.pos();
            c.skip(nbytes, &format!("data of variable `{name}`"))?;
            vars.insert(
                name,
                Variable {
                    shape,
                    dtype,
                    offset,
                },
            );
        }
        let mut aliases = HashMap::new();
        let alias_count = c.u32("alias count")?;
        for _ in 0..alias_count {
            let alias = read_name(&mut c, "alias name")?;
            let target = read_name(&mut c, "alias target")?;
            aliases.insert(alias, target);
        }
        Ok(Ct2Model {
            cursor: c,
            spec,
            vars,
            aliases,
        })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        self.cursor.path()
    }

    /// The model spec name, e.g. `WhisperSpec`.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The variable called `name` (following aliases), if any.
    pub fn get(&self, name: &str) -> Option<&Variable> {
        let target = self.aliases.get(name).map_or(name, String::as_str);
        self.vars.get(target)
    }

    /// The variable called `name`, or an error naming it.
    pub fn var(&self, name: &str) -> Result<&Variable, ModelError> {
        self.get(name).ok_or_else(|| self.missing(name, "missing"))
    }

    /// An error about variable `name`.
    pub fn missing(&self, name: &str, what: &str) -> ModelError {
        ModelError::Variable {
            path: self.path().to_path_buf(),
            name: name.to_string(),
            what: what.to_string(),
        }
    }

    /// Reads an integer scalar (e.g. `encoder/num_heads`), if present.
    pub fn scalar(&mut self, name: &str) -> Result<Option<i64>, ModelError> {
        let Some(var) = self.get(name).cloned() else {
            return Ok(None);
        };
        if var.len() != 1 {
            return Err(self.missing(name, &format!("expected a scalar, found {:?}", var.shape)));
        }
        self.cursor.seek_to(var.offset, name)?;
        let value = match var.dtype {
            Dtype::I8 => i64::from(self.cursor.u8(name)? as i8),
            Dtype::I16 => i64::from(self.cursor.u16(name)? as i16),
            Dtype::I32 => i64::from(self.cursor.i32(name)?),
            other => return Err(self.missing(name, &format!("scalar of type {other:?}"))),
        };
        Ok(Some(value))
    }

    /// Reads rows `row0 .. row0 + nrows` of variable `name` as f32 into `out` (cleared first),
    /// dequantising int8 weights with their `<name>_scale`.
    pub fn read_rows(
        &mut self,
        name: &str,
        row0: u64,
        nrows: u64,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        let var = self.var(name)?.clone();
        if row0 + nrows > var.rows() {
            return Err(self.missing(
                name,
                &format!("rows {row0}..{} beyond {:?}", row0 + nrows, var.shape),
            ));
        }
        let row_len = var.row_len();
        let start = var.offset + row0 * row_len * var.dtype.size();
        let nbytes = nrows * row_len * var.dtype.size();
        self.cursor.seek_to(start, name)?;
        let raw = self
            .cursor
            .read_vec(nbytes, &format!("data of variable `{name}`"))?;
        out.clear();
        out.reserve(raw.len() / var.dtype.size() as usize);
        match var.dtype {
            Dtype::F32 => out.extend(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ),
            Dtype::F16 => out.extend(
                raw.chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]]))),
            ),
            Dtype::Bf16 => out.extend(
                raw.chunks_exact(2)
                    .map(|b| bf16_to_f32(u16::from_le_bytes([b[0], b[1]]))),
            ),
            Dtype::I8 => {
                let scales = self.row_scales(name, &var, row0, nrows)?;
                let row_len = usize::try_from(row_len).unwrap_or(usize::MAX).max(1);
                for (row, scale) in raw.chunks(row_len).zip(scales) {
                    out.extend(row.iter().map(|&q| f32::from(q as i8) / scale));
                }
            }
            other => {
                return Err(self.missing(name, &format!("cannot convert {other:?} weights")));
            }
        }
        Ok(())
    }

    /// The per-row (or single) scale of an int8 variable.
    fn row_scales(
        &mut self,
        name: &str,
        var: &Variable,
        row0: u64,
        nrows: u64,
    ) -> Result<Vec<f32>, ModelError> {
        let scale_name = format!("{name}_scale");
        let Some(scale) = self.get(&scale_name).cloned() else {
            return Err(self.missing(name, "int8 weights without a `_scale` variable"));
        };
        let mut values = Vec::new();
        if scale.len() == 1 {
            self.read_rows(&scale_name, 0, 1, &mut values)?;
            return Ok(vec![values[0]; nrows as usize]);
        }
        if scale.len() != var.rows() {
            return Err(self.missing(
                &scale_name,
                &format!("{:?} does not match {:?}", scale.shape, var.shape),
            ));
        }
        self.read_rows(&scale_name, row0, nrows, &mut values)?;
        if values.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return Err(self.missing(&scale_name, "zero or non-finite scale"));
        }
        Ok(values)
    }
}

/// A u16-length, NUL-terminated UTF-8 name.
fn read_name(c: &mut Cursor, what: &str) -> Result<String, ModelError> {
    let start = c.pos();
    let len = c.u16(what)?;
    let mut bytes = c.read_vec(u64::from(len), what)?;
    if bytes.last() == Some(&0) {
        bytes.pop();
    }
    String::from_utf8(bytes).map_err(|_| c.garbled_at(start, format!("{what} is not UTF-8")))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Builds a model.bin in memory: `(name, shape, dtype id, raw bytes)`.
    pub(crate) fn build(
        vars: &[(&str, Vec<u32>, u8, Vec<u8>)],
        aliases: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&6u32.to_le_bytes());
        push_name(&mut out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
        for (name, shape, dtype, data) in vars {
            push_name(&mut out, name);
            out.push(shape.len() as u8);
            for d in shape {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.push(*dtype);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
        for (a, b) in aliases {
            push_name(&mut out, a);
            push_name(&mut out, b);
        }
        out
    }

    fn push_name(out: &mut Vec<u8>, name: &str) {
        out.extend_from_slice(&(name.len() as u16 + 1).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
    }

    fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(bytes).expect("write temp file");
        f
    }

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn reads_index_scalars_rows_and_aliases() {
        let bytes = build(
            &[
                ("a/weight", vec![2, 3], 0, f32s(&[1., 2., 3., 4., 5., 6.])),
                ("a/num_heads", vec![], 2, 6i16.to_le_bytes().to_vec()),
                ("q/weight", vec![2, 2], 1, vec![127, 0xff, 10, 20]),
                ("q/weight_scale", vec![2], 0, f32s(&[127.0, 10.0])),
            ],
            &[("b/weight", "a/weight")],
        );
        let f = write_temp(&bytes);
        let mut m = Ct2Model::open(f.path()).expect("valid model");
        assert_eq!(m.spec(), "WhisperSpec");
        assert_eq!(m.scalar("a/num_heads").expect("scalar"), Some(6));
        assert_eq!(m.scalar("nope").expect("absent"), None);
        let mut out = Vec::new();
        m.read_rows("b/weight", 1, 1, &mut out).expect("alias rows");
        assert_eq!(out, vec![4., 5., 6.]);
        m.read_rows("q/weight", 0, 2, &mut out).expect("int8 rows");
        assert_eq!(out, vec![1.0, -1.0 / 127.0, 1.0, 2.0]);
    }

    #[test]
    fn truncated_file_names_the_variable_and_offset() {
        let bytes = build(&[("enc/w", vec![4], 0, f32s(&[1., 2., 3., 4.]))], &[]);
        let f = write_temp(&bytes[..bytes.len() - 10]);
        let err = Ct2Model::open(f.path())
            .err()
            .expect("must fail")
            .to_string();
        assert!(err.contains("truncated at byte"), "{err}");
        assert!(err.contains("enc/w"), "{err}");
    }

    #[test]
    fn wrong_byte_count_is_garbled() {
        let mut bytes = build(&[("w", vec![4], 0, f32s(&[1., 2., 3., 4.]))], &[]);
        // Byte count sits right before the 16 data bytes, before the 4-byte alias count.
        let at = bytes.len() - 4 - 16 - 4;
        bytes[at] = 15;
        let f = write_temp(&bytes);
        let err = Ct2Model::open(f.path())
            .err()
            .expect("must fail")
            .to_string();
        assert!(err.contains("announces 15 bytes, expected 16"), "{err}");
    }

    #[test]
    fn foreign_file_is_rejected_at_byte_zero() {
        let f = write_temp(b"PK\x03\x04 not a model");
        let err = Ct2Model::open(f.path())
            .err()
            .expect("must fail")
            .to_string();
        assert!(
            err.contains("at byte 0: not a CTranslate2 model.bin"),
            "{err}"
        );
    }
}
