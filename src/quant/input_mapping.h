// Affine input mappings on integer grids. An `affine` node (model/layers/affine.h) maps
// our input domain (pixels in [0, 1]) onto a model's own (0..255, [-1, 1], ...). In a
// quantized model it must hold the very codes its input holds, so the integer engines run
// it as nothing and see exactly the codes the original model would get: code q on the
// input grid must mean, after the map, the real value of code q on the output grid.
#pragma once

#include <string>

#include "core/status.h"
#include "quant/activation_grid.h"

namespace slingshot {

// Whether out.quantize(scale * in.dequantize(q) + offset) == q for every code q of `in`
// (in float, as the fake-quant graph computes it), with equal code ranges.
bool affine_keeps_codes(const ActivationGrid& in, const ActivationGrid& out, double scale, double offset);

// The grid an affine node's output has when its input is on `in`: scale in.scale x scale,
// zero point moved by -offset / that scale, which must be a whole number of codes that
// stays in range. Errors say why no grid fits (`what` names the node).
Result<ActivationGrid> affine_output_grid(const ActivationGrid& in, double scale, double offset, const std::string& what);

}  // namespace slingshot
