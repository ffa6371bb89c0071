//! The mel filter bank a ggml file embeds: read from OpenAI whisper's `mel_filters.npz` (a zip
//! of `.npy` arrays `mel_80` and `mel_128`), or computed ([`slaney_filters`]) — the two are
//! bit-identical for 80 and 128 bands, so the npz is optional.
//!
//! The `.npy` header is parsed here (NumPy NEP 1: magic `\x93NUMPY`, version, header length,
//! then a Python dict literal with `descr`, `fortran_order`, `shape`); only little-endian f32
//! and f64 matrices are accepted.

use std::io::Read;
use std::path::Path;

use super::ModelError;

/// A row-major f32 matrix: `rows` mel bands of `cols` FFT bins.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilters {
    /// Number of mel bands.
    pub rows: usize,
    /// Number of FFT bins per band (201 for whisper's 400-point FFT).
    pub cols: usize,
    /// `rows * cols` weights, row-major.
    pub data: Vec<f32>,
}

/// The element type and shape declared by a `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The `descr` field, e.g. `<f4`.
    pub descr: String,
    /// Whether the data is column-major.
    pub fortran_order: bool,
    /// The array shape.
    pub shape: Vec<usize>,
    /// Offset of the data after the header.
    pub data_offset: usize,
}

/// Reads the `mel_<n_mels>` matrix from an `.npz` file.
pub fn read_npz(path: &Path, n_mels: usize) -> Result<MelFilters, ModelError> {
    let file = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let garbled = |what: String| ModelError::Garbled {
        path: path.to_path_buf(),
        offset: 0,
        what,
    };
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| garbled(format!("not an .npz (zip): {e}")))?;
    let entry_name = format!("mel_{n_mels}.npy");
    let mut entry = archive.by_name(&entry_name).map_err(|_| {
        garbled(format!(
            "no `{entry_name}` array (the model has {n_mels} mels)"
        ))
    })?;
    // Whisper's largest bank is 128 x 201 f32 (~100 kB); refuse anything absurd.
    if entry.size() > 64 << 20 {
        return Err(garbled(format!("`{entry_name}` is {} bytes", entry.size())));
    }
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| garbled(format!("reading `{entry_name}`: {e}")))?;
    let filters =
        parse_npy_matrix(&bytes).map_err(|what| garbled(format!("`{entry_name}`: {what}")))?;
    if filters.rows != n_mels {
        return Err(garbled(format!(
            "`{entry_name}` has {} rows, expected {n_mels}",
            filters.rows
        )));
    }
    Ok(filters)
}

/// Whisper's mel filter bank computed from its definition: librosa's
/// `filters.mel(sr=16000, n_fft=400, n_mels)` with Slaney's mel scale and area normalisation,
/// which is how OpenAI generated `mel_filters.npz`. Arithmetic follows librosa's dtypes (f64
/// ramps stored as f32, then scaled in f64 and stored as f32) and numpy's tie rules, so the
/// result equals the shipped file bit for bit (see the test).
pub fn slaney_filters(n_mels: usize) -> MelFilters {
    const SAMPLE_RATE: f64 = 16_000.0;
    const N_FFT: usize = 400;
    let bins = 1 + N_FFT / 2;
    let fft_freqs: Vec<f64> = (0..bins)
        .map(|i| i as f64 * (SAMPLE_RATE / 2.0) / (bins - 1) as f64)
        .collect();
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let log_step = 6.4f64.ln() / 27.0;
    let hz_to_mel = |f: f64| {
        if f >= min_log_hz {
            min_log_mel + (f / min_log_hz).ln() / log_step
        } else {
            f / f_sp
        }
    };
    let mel_to_hz = |m: f64| {
        if m >= min_log_mel {
            min_log_hz * (log_step * (m - min_log_mel)).exp()
        } else {
            f_sp * m
        }
    };
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0));
    let points = n_mels + 2;
    let mel_f: Vec<f64> = (0..points)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (points - 1) as f64))
        .collect();
    let mut data = Vec::with_capacity(n_mels * bins);
    for i in 0..n_mels {
        let (left, centre, right) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
        let enorm = 2.0 / (right - left);
        for &f in &fft_freqs {
            let lower = -(left - f) / (centre - left);
            let upper = (right - f) / (right - centre);
            // numpy's minimum/maximum keep the second operand on ties, so a -0.0 ramp stays
            // -0.0 (as in the shipped file); f64::max would not promise that.
            let least = if lower < upper { lower } else { upper };
            let weight = if 0.0 > least { 0.0 } else { least } as f32;
            data.push((f64::from(weight) * enorm) as f32);
        }
    }
    MelFilters {
        rows: n_mels,
        cols: bins,
        data,
    }
}

/// Parses the header of an `.npy` buffer.
pub fn parse_npy_header(bytes: &[u8]) -> Result<NpyHeader, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("missing the \\x93NUMPY magic".into());
    }
    let major = bytes[6];
    let (header_len, start) = match major {
        1 => (
            usize::from(u16::from_le_bytes([bytes[8], bytes[9]])),
            10usize,
        ),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("header length cut off".into());
            }
            let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (usize::try_from(len).map_err(|_| "header too long")?, 12)
        }
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or("header runs past the end of the data")?;
    let text = std::str::from_utf8(&bytes[start..end]).map_err(|_| "header is not text")?;
    let descr = dict_value(text, "descr")?
        .trim_matches(|c| c == '\'' || c == '"')
        .to_string();
    let fortran_order = match dict_value(text, "fortran_order")? {
        "True" => true,
        "False" => false,
        other => return Err(format!("fortran_order is `{other}`")),
    };
    let shape_text = dict_value(text, "shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("shape is `{shape_text}`"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("shape entry `{s}`")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NpyHeader {
        descr,
        fortran_order,
        shape,
        data_offset: end,
    })
}

/// The raw text of `key`'s value in a Python dict literal (values here are a quoted string, a
/// bool or a tuple, none of which contain a top-level comma outside parentheses).
fn dict_value<'a>(text: &'a str, key: &str) -> Result<&'a str, String> {
    let quoted = [format!("'{key}'"), format!("\"{key}\"")];
    let at = quoted
        .iter()
        .find_map(|k| text.find(k.as_str()).map(|i| i + k.len()))
        .ok_or_else(|| format!("header has no `{key}`"))?;
    let rest = text[at..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| format!("`{key}` has no value"))?
        .trim_start();
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => return Ok(rest[..i].trim()),
            _ => {}
        }
        if depth < 0 {
            return Err(format!("`{key}` is unbalanced"));
        }
    }
    Err(format!("`{key}` is not terminated"))
}

/// Parses a 2-D little-endian f32/f64 `.npy` array into a row-major f32 matrix.
pub fn parse_npy_matrix(bytes: &[u8]) -> Result<MelFilters, String> {
    let header = parse_npy_header(bytes)?;
    let [rows, cols] = header.shape[..] else {
        return Err(format!(
            "expected a 2-D array, found shape {:?}",
            header.shape
        ));
    };
    let width = match header.descr.as_str() {
        "<f4" => 4,
        "<f8" => 8,
        other => return Err(format!("unsupported dtype `{other}` (want <f4 or <f8)")),
    };
    let count = rows.checked_mul(cols).ok_or("shape overflows")?;
    let data = &bytes[header.data_offset..];
    if data.len() != count * width {
        return Err(format!(
            "{} data bytes for a {rows}x{cols} array of {width}-byte floats",
            data.len()
        ));
    }
    let values: Vec<f32> = if width == 4 {
        data.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect()
    };
    let data = if header.fortran_order {
        let mut row_major = vec![0.0; count];
        for r in 0..rows {
            for c in 0..cols {
                row_major[r * cols + c] = values[c * rows + r];
            }
        }
        row_major
    } else {
        values
    };
    Ok(MelFilters { rows, cols, data })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Encodes a row-major f32 matrix as `.npy` version 1.
    pub(crate) fn npy_f32(rows: usize, cols: usize, data: &[f32], fortran: bool) -> Vec<u8> {
        let order = if fortran { "True" } else { "False" };
        let mut dict =
            format!("{{'descr': '<f4', 'fortran_order': {order}, 'shape': ({rows}, {cols}), }}");
        while (10 + dict.len() + 1) % 64 != 0 {
            dict.push(' ');
        }
        dict.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend(data.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    #[test]
    fn parses_numpy_header() {
        let bytes = npy_f32(2, 3, &[0.0; 6], false);
        let h = parse_npy_header(&bytes).expect("valid header");
        assert_eq!(h.descr, "<f4");
        assert!(!h.fortran_order);
        assert_eq!(h.shape, vec![2, 3]);
        assert_eq!(h.data_offset % 64, 0);
    }

    #[test]
    fn parses_one_dimensional_shape_and_v2_header() {
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }\n";
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        let h = parse_npy_header(&bytes).expect("valid v2 header");
        assert_eq!(h.shape, vec![5]);
        assert_eq!(h.descr, "<f8");
    }

    #[test]
    fn fortran_order_is_transposed_to_row_major() {
        // Column-major storage of [[1, 2, 3], [4, 5, 6]].
        let bytes = npy_f32(2, 3, &[1., 4., 2., 5., 3., 6.], true);
        let m = parse_npy_matrix(&bytes).expect("valid matrix");
        assert_eq!(m.data, vec![1., 2., 3., 4., 5., 6.]);
    }

    #[test]
    fn rejects_bad_npy() {
        assert!(parse_npy_matrix(b"PK\x03\x04garbage").is_err());
        let mut short = npy_f32(2, 3, &[0.0; 6], false);
        short.truncate(short.len() - 1);
        let err = parse_npy_matrix(&short).expect_err("short data");
        assert!(err.contains("23 data bytes"), "{err}");
        let int = npy_f32(1, 1, &[0.0], false);
        let int = String::from_utf8_lossy(&int)
            .replace("<f4", "<i4")
            .into_bytes();
        assert!(parse_npy_matrix(&int).is_err());
    }

    #[test]
    fn computed_filters_are_triangles_of_slaney_height() {
        let m = slaney_filters(80);
        assert_eq!((m.rows, m.cols), (80, 201));
        assert!(m.data.iter().all(|w| *w >= 0.0));
        for (i, band) in m.data.chunks(201).enumerate() {
            // One contiguous run of non-zero weights per band.
            let nonzero: Vec<usize> = (0..201).filter(|&k| band[k] > 0.0).collect();
            assert!(!nonzero.is_empty(), "band {i} is empty");
            assert_eq!(
                nonzero.len(),
                nonzero[nonzero.len() - 1] - nonzero[0] + 1,
                "band {i}"
            );
        }
        // 82 points evenly spaced on the mel scale up to 8 kHz (45.25 mel): band 0 rises from
        // 0 to 37.24 Hz and falls to 74.49 Hz, with height 2 / 74.49. Its only non-zero bin is
        // 40 Hz, on the falling side: (74.49 - 40) / 37.24 * 2 / 74.49 = 0.02486.
        assert_eq!(m.data[..201].iter().filter(|w| **w > 0.0).count(), 1);
        assert!((m.data[1] - 0.02486).abs() < 1e-5, "{}", m.data[1]);
    }

    /// With `KEFU_TEST_MEL=path/to/mel_filters.npz`, the computed banks equal the shipped ones.
    #[test]
    fn computed_filters_match_openai_npz() {
        let Some(path) = std::env::var_os("KEFU_TEST_MEL") else {
            eprintln!("skipped: set KEFU_TEST_MEL=path/to/mel_filters.npz to compare");
            return;
        };
        for n in [80, 128] {
            let shipped = read_npz(Path::new(&path), n).expect("valid npz");
            let computed = slaney_filters(n);
            assert_eq!((computed.rows, computed.cols), (shipped.rows, shipped.cols));
            let differing = shipped
                .data
                .iter()
                .zip(&computed.data)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            assert_eq!(
                differing, 0,
                "mel_{n}: {differing} weights differ in their bits"
            );
        }
    }

    proptest! {
        #[test]
        fn npy_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_npy_matrix(&bytes);
            let mut with_magic = b"\x93NUMPY\x01\x00".to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = parse_npy_matrix(&with_magic);
        }
    }
}
