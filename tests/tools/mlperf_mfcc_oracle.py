#!/usr/bin/python3
"""Independent oracle for the keyword front end (src/data/mfcc.h): the MLPerf Tiny KWS
"mfcc" features (benchmark/training/keyword_spotting/get_dataset.py) rebuilt in float64
NumPy straight from the definitions of the TensorFlow ops that script calls, with
Python's own WAV reader. Compares them with our features (tests/tools/mfcc_features.cpp)
and, given C headers from `slingshot export-c-header`, the int8 input codes with the
model's input quantization.

Usage: mlperf_mfcc_oracle.py OURS.npy WAV [WAV ...] [--codes HEADER.h ...]
(one header per WAV, in order). Exit status 0 when everything agrees, 1 otherwise.
"""
import re
import sys
import wave

import numpy as np

SAMPLE_RATE, CLIP = 16000, 16000
FRAME_LENGTH, FRAME_STEP, FFT_LENGTH = 480, 320, 512  # 30 ms, 20 ms, stft's default fft
MELS, LOWER_HZ, UPPER_HZ, COEFFS = 40, 20.0, 4000.0, 10
TOLERANCE = 1e-4  # max |ours - oracle| on the MFCCs (ours run in float32; MFCC 0 reaches -124)


def read_wav(path):
    """16-bit PCM, any channel count, mixed down to the per-frame channel mean, / 32768."""
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getframerate() == SAMPLE_RATE, path
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
        x = raw.reshape(-1, w.getnchannels()).mean(axis=1) / 32768.0
    x = x[:CLIP]  # longer clips: the first second (MLPerf's clips are never longer)
    return x


def hertz_to_mel(f):  # tf.signal: HTK formula
    return 1127.0 * np.log(1.0 + f / 700.0)


def mel_matrix():
    """tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20, 4000): [bins, mels]."""
    bins = FFT_LENGTH // 2 + 1
    bin_mel = hertz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2.0, bins))[:, None]
    edges = np.linspace(hertz_to_mel(LOWER_HZ), hertz_to_mel(UPPER_HZ), MELS + 2)
    lo, center, hi = edges[:-2], edges[1:-1], edges[2:]
    w = np.maximum(0.0, np.minimum((bin_mel - lo) / (center - lo), (hi - bin_mel) / (hi - center)))
    w[0, :] = 0.0  # the DC bin contributes nothing
    return w


def mlperf_mfcc(x):
    # get_dataset.py: x / tf.reduce_max(x) (signed max), zero-pad to 16000, no time shift
    # (the [2, 2] pad then slice at 2 is the identity), no background noise at test time.
    x = x / np.max(x)
    x = np.pad(x, (0, CLIP - len(x)))
    # tf.signal.stft(frame_length=480, frame_step=320, fft_length=None -> 512,
    # window_fn=tf.signal.hann_window (periodic), pad_end=False): 49 frames.
    n = 1 + (CLIP - FRAME_LENGTH) // FRAME_STEP
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(FRAME_LENGTH) / FRAME_LENGTH)
    frames = np.stack([x[t * FRAME_STEP:t * FRAME_STEP + FRAME_LENGTH] for t in range(n)])
    spectrogram = np.abs(np.fft.rfft(frames * window, FFT_LENGTH))  # tf.abs: magnitude
    log_mel = np.log(spectrogram @ mel_matrix() + 1e-6)
    # tf.signal.mfccs_from_log_mel_spectrograms: unnormalized DCT-II
    # (y_k = 2 sum_n x_n cos(pi k (2n + 1) / 2N)) times rsqrt(2 N), first 10.
    k = np.arange(COEFFS)[:, None]
    m = np.arange(MELS)[None, :]
    dct = 2.0 * np.cos(np.pi * k * (2 * m + 1) / (2.0 * MELS))
    return (log_mel @ dct.T) / np.sqrt(2.0 * MELS)


def header_codes(path):
    text = open(path).read()
    scale = float(re.search(r"_INPUT_SCALE\s+([-0-9.eE+]+)f?", text).group(1))
    zero = int(re.search(r"_INPUT_ZERO_POINT\s+\(([-0-9]+)\)", text).group(1))
    body = re.search(r"_input\[[^\]]*\][^{]*\{([^}]*)\}", text).group(1)
    codes = np.array([int(v) for v in re.findall(r"-?\d+", body)])
    return scale, zero, codes


def main(argv):
    if "--codes" in argv:
        i = argv.index("--codes")
        args, headers = argv[1:i], argv[i + 1:]
    else:
        args, headers = argv[1:], []
    ours = np.load(args[0]).astype(np.float64)
    wavs = args[1:]
    assert ours.shape == (len(wavs), 49, COEFFS), ours.shape
    ok = True
    worst = 0.0
    for i, path in enumerate(wavs):
        ref = mlperf_mfcc(read_wav(path))
        diff = np.max(np.abs(ref - ours[i]))
        worst = max(worst, diff)
        print(f"{path}: max |ours - oracle| = {diff:.3g} (MFCC range {ref.min():.1f} .. {ref.max():.1f})")
        ok &= diff <= TOLERANCE
    for i, path in enumerate(headers):
        scale, zero, codes = header_codes(path)
        v = mlperf_mfcc(read_wav(wavs[i])).reshape(-1) / scale
        # TFLite's quantize: round half away from zero, add the zero point, clamp to int8.
        want = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + zero, -128, 127).astype(int)
        # Our float32 features may sit on the other side of a rounding tie by their error.
        near_tie = np.abs(np.abs(v - np.trunc(v)) - 0.5) < TOLERANCE / scale
        bad = (want != codes) & ~near_tie
        print(f"{path}: input scale {scale:.6g}, zero point {zero}; {int(np.sum(want != codes))} of {len(codes)} "
              f"codes differ ({int(np.sum(near_tie))} values within the tolerance of a rounding tie)")
        ok &= len(codes) == v.size and not bad.any()
    print(f"oracle: max |ours - oracle| over {len(wavs)} clips = {worst:.3g} (tolerance {TOLERANCE})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
