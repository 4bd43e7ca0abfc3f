#!/usr/bin/python3
"""An independent safetensors reader (Python standard library only: struct + json).

It checks that a Slingshot model file is a plain safetensors file any reader can use,
without sharing a line of code with the C++ loader:

    read_safetensors.py MODEL                      # validate, print a summary
    read_safetensors.py MODEL --expect SIDECAR     # also compare every tensor value

SIDECAR is tests/data/golden_tiny_cnn.expected.json, written by the C++ unit test when
SLING_REGENERATE_GOLDEN=1: for each tensor its shape and values (float32 values stored as
JSON numbers, which round-trip exactly). Exit status 0 on success, 1 with a message
naming the problem otherwise.
"""

import argparse
import json
import struct
import sys

# Element sizes of the safetensors dtypes, so any file's layout can be checked.
DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
    "U32": 4, "I32": 4, "F32": 4,
    "U64": 8, "I64": 8, "F64": 8,
}
MAX_HEADER = 100_000_000


class FormatError(Exception):
    pass


def no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise FormatError(f"duplicate JSON key {key!r}")
        out[key] = value
    return out


def read_safetensors(path):
    """Returns (metadata dict, {name: (dtype, shape, bytes)}) after checking the container."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise FormatError(f"file is {len(blob)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER or 8 + n > len(blob):
        raise FormatError(f"header length {n} does not fit the {len(blob)}-byte file")
    raw = blob[8:8 + n]
    if not raw.startswith(b"{"):
        raise FormatError("header does not begin with '{'")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object")
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise FormatError("__metadata__ must map strings to strings")
    tensors = {}
    spans = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise FormatError(f"tensor {name!r}: entry must have exactly dtype, shape, data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPE_SIZES:
            raise FormatError(f"tensor {name!r}: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise FormatError(f"tensor {name!r}: bad shape {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2 or
                not all(type(o) is int and o >= 0 for o in offsets)):
            raise FormatError(f"tensor {name!r}: bad data_offsets {offsets!r}")
        begin, end = offsets
        count = 1
        for d in shape:
            count *= d
        if not begin <= end <= len(data):
            raise FormatError(f"tensor {name!r}: data_offsets {offsets} outside the {len(data)}-byte data")
        if end - begin != count * DTYPE_SIZES[dtype]:
            raise FormatError(f"tensor {name!r}: {dtype} {shape} needs {count * DTYPE_SIZES[dtype]} bytes, "
                              f"data_offsets give {end - begin}")
        spans.append((begin, end, name))
        tensors[name] = (dtype, shape, data[begin:end])
    # The byte buffer must be fully indexed: no holes, no overlaps.
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            raise FormatError(f"tensor {name!r} starts at {begin}, expected {pos} (gap or overlap)")
        pos = end
    if pos != len(data):
        raise FormatError(f"{len(data) - pos} trailing bytes after the last tensor")
    return metadata, tensors


def f32_values(raw):
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def as_f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def check_slingshot(metadata, tensors):
    """Checks the graph document and that every tensor belongs to a listed node."""
    if "slingshot" not in metadata:
        raise FormatError("__metadata__ has no 'slingshot' entry")
    doc = json.loads(metadata["slingshot"], object_pairs_hook=no_duplicates)
    if doc.get("format") != "slingshot-model":
        raise FormatError(f"format is {doc.get('format')!r}")
    if doc.get("version") != 1:
        raise FormatError(f"this reader knows version 1, the file has {doc.get('version')!r}")
    names = [n["name"] for n in doc["nodes"]]
    if len(set(names)) != len(names):
        raise FormatError("duplicate node names")
    if doc["output"] not in names:
        raise FormatError(f"output {doc['output']!r} is not a node")
    for n in doc["nodes"]:
        for i in n["inputs"]:
            if i != "input" and i not in names:
                raise FormatError(f"node {n['name']!r} reads undefined {i!r}")
    for t in tensors:
        node, _, param = t.rpartition(".")
        if node not in names or not param:
            raise FormatError(f"tensor {t!r} does not belong to a node")
        if tensors[t][0] != "F32":
            raise FormatError(f"tensor {t!r} is {tensors[t][0]}, Slingshot version 1 writes F32")
    return doc


def compare(doc, tensors, expected):
    if expected["format"] != doc["format"] or expected["version"] != doc["version"]:
        raise FormatError("format or version differs from the sidecar")
    if expected["output"] != doc["output"]:
        raise FormatError(f"output {doc['output']!r} differs from the sidecar's {expected['output']!r}")
    want = expected["tensors"]
    if set(want) != set(tensors):
        raise FormatError(f"tensor names differ: missing {sorted(set(want) - set(tensors))}, "
                          f"unexpected {sorted(set(tensors) - set(want))}")
    for name, spec in want.items():
        _, shape, raw = tensors[name]
        if shape != spec["shape"]:
            raise FormatError(f"tensor {name!r}: shape {shape} differs from the sidecar's {spec['shape']}")
        got = f32_values(raw)
        for k, (g, w) in enumerate(zip(got, spec["values"])):
            if g != as_f32(w):
                raise FormatError(f"tensor {name!r}[{k}] = {g!r}, sidecar says {w!r}")
        if len(got) != len(spec["values"]):
            raise FormatError(f"tensor {name!r}: {len(got)} values, sidecar has {len(spec['values'])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--expect", help="JSON sidecar with every tensor's shape and values")
    args = ap.parse_args()
    try:
        metadata, tensors = read_safetensors(args.model)
        doc = check_slingshot(metadata, tensors)
        if args.expect:
            with open(args.expect) as f:
                compare(doc, tensors, json.load(f))
    except (FormatError, KeyError, TypeError, ValueError) as e:
        print(f"{args.model}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    params = sum(len(raw) // 4 for _, _, raw in tensors.values())
    print(f"{args.model}: {len(tensors)} F32 tensors, {params} parameters, {len(doc['nodes'])} nodes, "
          f"output {doc['output']!r}" + (", every value matches the sidecar" if args.expect else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
