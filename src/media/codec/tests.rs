//! Cross-codec tests: SDP mapping, round trips, payload lengths, hostile payloads.

use proptest::prelude::*;

use super::*;
use crate::media::frame::{FRAME_SAMPLES, SAMPLE_RATE};

const ALL: [CodecKind; 4] = CodecKind::PREFERENCE;

fn tone_frames(freq: f64, amplitude: f64, frames: usize) -> Vec<Frame> {
    let mut n = 0usize;
    (0..frames)
        .map(|_| {
            let mut f = Frame::SILENCE;
            for s in f.samples_mut() {
                let t = n as f64 / f64::from(SAMPLE_RATE);
                *s = (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16;
                n += 1;
            }
            f
        })
        .collect()
}

/// Amplitude of `freq` in `x` (one DFT bin).
fn amplitude_at(x: &[i16], freq: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in x.iter().enumerate() {
        let phase = 2.0 * std::f64::consts::PI * freq * n as f64 / f64::from(SAMPLE_RATE);
        re += f64::from(s) * phase.cos();
        im += f64::from(s) * phase.sin();
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

fn round_trip(kind: CodecKind, frames: &[Frame]) -> Vec<i16> {
    let mut enc = Encoder::new(kind).expect("codec constructs");
    let mut dec = Decoder::new(kind).expect("codec constructs");
    let mut payload = Vec::new();
    let mut pcm = Vec::new();
    for f in frames {
        enc.encode(f, &mut payload).expect("encode");
        let before = pcm.len();
        dec.decode(&payload, &mut pcm).expect("decode");
        assert_eq!(
            pcm.len() - before,
            FRAME_SAMPLES,
            "{kind}: one frame in, one out"
        );
    }
    pcm
}

#[test]
fn sdp_names_map_both_ways() {
    assert_eq!(CodecKind::from_sdp("PCMU", 8000, 1), Some(CodecKind::Pcmu));
    assert_eq!(CodecKind::from_sdp("pcmu", 8000, 1), Some(CodecKind::Pcmu));
    assert_eq!(CodecKind::from_sdp("PcMa", 8000, 1), Some(CodecKind::Pcma));
    assert_eq!(CodecKind::from_sdp("g722", 8000, 1), Some(CodecKind::G722));
    assert_eq!(CodecKind::from_sdp("OPUS", 48000, 2), Some(CodecKind::Opus));
    assert_eq!(CodecKind::from_sdp("opus", 48000, 1), None);
    assert_eq!(CodecKind::from_sdp("G722", 16000, 1), None);
    assert_eq!(CodecKind::from_sdp("PCMU", 8000, 2), None);
    assert_eq!(CodecKind::from_sdp("telephone-event", 8000, 1), None);
    for kind in ALL {
        let again =
            CodecKind::from_sdp(kind.sdp_name(), kind.rtp_clock_rate(), kind.sdp_channels());
        assert_eq!(again, Some(kind));
    }
}

#[test]
fn rtp_parameters_follow_rfc_3551_and_7587() {
    let table: Vec<_> = ALL
        .iter()
        .map(|k| {
            (
                k.to_string(),
                k.rtp_clock_rate(),
                k.static_payload_type(),
                k.timestamp_step(),
            )
        })
        .collect();
    assert_eq!(
        table,
        vec![
            ("opus".to_string(), 48000, None, 960),
            ("G722".to_string(), 8000, Some(9), 160),
            ("PCMU".to_string(), 8000, Some(0), 160),
            ("PCMA".to_string(), 8000, Some(8), 160),
        ]
    );
}

#[test]
fn every_codec_round_trips_a_1khz_tone() {
    let frames = tone_frames(1000.0, 8000.0, 50);
    for kind in ALL {
        let pcm = round_trip(kind, &frames);
        // Skip the first 200 ms: codec delay and Opus's start-up.
        let settled = &pcm[10 * FRAME_SAMPLES..];
        let level = 20.0 * (amplitude_at(settled, 1000.0) / 8000.0).log10();
        assert!(level.abs() < 1.5, "{kind}: 1 kHz at {level:.2} dB");
        // Everything else (noise, distortion) well below the tone.
        let tone_rms = 8000.0 / 2f64.sqrt();
        let residual = (rms(settled).powi(2) - tone_rms.powi(2) * 10f64.powf(level / 10.0))
            .max(0.0)
            .sqrt();
        assert!(residual < tone_rms / 10.0, "{kind}: residual {residual:.0}");
    }
}

#[test]
fn payload_sizes_per_20ms() {
    let frame = tone_frames(440.0, 5000.0, 1)[0];
    let mut out = Vec::new();
    for kind in ALL {
        Encoder::new(kind)
            .unwrap()
            .encode(&frame, &mut out)
            .unwrap();
        match kind {
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => assert_eq!(out.len(), 160),
            CodecKind::Opus => assert!((2..400).contains(&out.len()), "opus {}", out.len()),
        }
    }
}

#[test]
fn decoders_follow_the_packet_duration() {
    let mut out = Vec::new();
    for (kind, bytes, samples) in [
        (CodecKind::Pcmu, 80, 160),
        (CodecKind::Pcma, 480, 960),
        (CodecKind::G722, 320, 640),
        (CodecKind::G722, 960, 1920),
    ] {
        out.clear();
        let mut dec = Decoder::new(kind).unwrap();
        dec.decode(&vec![0x55; bytes], &mut out).unwrap();
        assert_eq!(out.len(), samples, "{kind} {bytes} bytes");
    }
    // A 60 ms Opus packet from libopus directly.
    let mut enc =
        ::opus::Encoder::new(16000, ::opus::Channels::Mono, ::opus::Application::Voip).unwrap();
    let mut packet = [0u8; 1500];
    let n = enc.encode(&[0i16; 960], &mut packet).unwrap();
    out.clear();
    Decoder::new(CodecKind::Opus)
        .unwrap()
        .decode(&packet[..n], &mut out)
        .unwrap();
    assert_eq!(out.len(), 960);
}

#[test]
fn opus_decodes_stereo_48k_packets_to_mono_16k() {
    let mut enc =
        ::opus::Encoder::new(48000, ::opus::Channels::Stereo, ::opus::Application::Audio).unwrap();
    let stereo: Vec<i16> = (0..960 * 2)
        .map(|i| ((i / 2) as f64 * 0.13).sin() as i16 * 3000)
        .collect();
    let mut packet = [0u8; 1500];
    let n = enc.encode(&stereo, &mut packet).unwrap();
    let mut out = Vec::new();
    Decoder::new(CodecKind::Opus)
        .unwrap()
        .decode(&packet[..n], &mut out)
        .unwrap();
    assert_eq!(out.len(), FRAME_SAMPLES);
}

#[test]
fn empty_and_oversized_payloads_are_errors() {
    let mut out = vec![7i16; 3];
    for kind in ALL {
        let err = Decoder::new(kind)
            .unwrap()
            .decode(&[], &mut out)
            .unwrap_err();
        assert!(matches!(err, CodecError::EmptyPayload(k) if k == kind));
    }
    let err = Decoder::new(CodecKind::Pcmu)
        .unwrap()
        .decode(&[0; 961], &mut out)
        .unwrap_err();
    assert!(matches!(err, CodecError::PayloadTooLong { bytes: 961, .. }));
    assert_eq!(out, vec![7; 3], "failed decodes leave the output alone");
}

#[test]
fn opus_rejects_a_corrupt_packet() {
    // TOC code 3 (arbitrary frame count) with a frame count of zero is invalid (RFC 6716
    // §3.2.5, R5).
    let mut out = Vec::new();
    let err = Decoder::new(CodecKind::Opus)
        .unwrap()
        .decode(&[0x03, 0x00], &mut out)
        .unwrap_err();
    assert!(matches!(err, CodecError::OpusDecode(_)), "{err}");
    assert!(out.is_empty());
}

#[test]
fn concealment_keeps_timing_and_fades() {
    let frames = tone_frames(500.0, 10000.0, 10);
    for kind in ALL {
        let mut enc = Encoder::new(kind).unwrap();
        let mut dec = Decoder::new(kind).unwrap();
        let (mut payload, mut pcm) = (Vec::new(), Vec::new());
        for f in &frames {
            enc.encode(f, &mut payload).unwrap();
            pcm.clear();
            dec.decode(&payload, &mut pcm).unwrap();
        }
        let mut lost = Vec::new();
        for _ in 0..10 {
            let before = lost.len();
            dec.conceal(&mut lost);
            assert_eq!(lost.len() - before, FRAME_SAMPLES, "{kind}");
        }
        let first = rms(&lost[..FRAME_SAMPLES]);
        let last = rms(&lost[9 * FRAME_SAMPLES..]);
        assert!(
            first > 1000.0,
            "{kind}: first concealed frame carries the signal"
        );
        assert!(
            last < first / 10.0,
            "{kind}: long losses fade out ({first:.0} -> {last:.0})"
        );
    }
}

#[test]
fn warm_buffers_are_reused() {
    let frames = tone_frames(300.0, 6000.0, 30);
    for kind in ALL {
        let mut enc = Encoder::new(kind).unwrap();
        let mut dec = Decoder::new(kind).unwrap();
        let mut payload = Vec::with_capacity(MAX_ENCODED_BYTES);
        let mut pcm = Vec::with_capacity(MAX_DECODED_SAMPLES);
        let (payload_ptr, pcm_ptr) = (payload.as_ptr(), pcm.as_ptr());
        for f in &frames {
            enc.encode(f, &mut payload).unwrap();
            pcm.clear();
            dec.decode(&payload, &mut pcm).unwrap();
            dec.conceal(&mut pcm);
        }
        assert_eq!(
            payload.as_ptr(),
            payload_ptr,
            "{kind}: payload buffer reallocated"
        );
        assert_eq!(pcm.as_ptr(), pcm_ptr, "{kind}: pcm buffer reallocated");
    }
}

proptest! {
    #[test]
    fn arbitrary_payloads_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..1500),
        kind in prop::sample::select(ALL.to_vec()),
    ) {
        let mut dec = Decoder::new(kind).unwrap();
        let mut out = Vec::new();
        match dec.decode(&bytes, &mut out) {
            Ok(()) => {
                prop_assert!(out.len() <= MAX_DECODED_SAMPLES);
                if kind != CodecKind::Opus {
                    prop_assert_eq!(out.len(), 2 * bytes.len());
                }
            }
            Err(_) => prop_assert!(out.is_empty()),
        }
        dec.conceal(&mut out);
    }
}
