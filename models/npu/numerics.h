// What the NPU's datapaths compute, layer at a time: the convolution pipeline's exact int32
// accumulation of int8 x int8 products (Eigen int32 GEMM over im2col, per image and group) or
// fp32 accumulation of fp16 products; the SDP's integer requantization pipeline; PDP pooling on
// int8 codes; CDP local response normalization. The SystemC units call these once per layer;
// --timing-only skips them without changing any timing decision.
#pragma once

#include "isa/npu/program.h"
#include "models/npu/npu_memory.h"

namespace xpusim::models::npu {

using isa::npu::CdpDesc;
using isa::npu::ConvDesc;
using isa::npu::PdpDesc;
using isa::npu::SdpDesc;

/// @brief int8: x (int8 codes) * w (int8 codes, K x C/groups x R x S) -> int32 accumulators;
/// fp16: fp16-rounded floats -> fp32 sums. Output N x K x P x Q, or rows x K when `fc`.
Tensor conv_accumulate(const ConvDesc& d, const Tensor& x, const Tensor& w);

/// @brief The SDP pipeline over `in` (CACC accumulators when fused after a conv, else the int8
/// codes / floats of the source surface), reading operands and parameters from `mem`. Returns
/// int8 codes (int8 programs) or fp16-rounded floats, in the shape of `in`.
Tensor sdp_apply(const SdpDesc& d, const Tensor& in, bool from_cacc, const NpuProgram& program,
                 const NpuMemory& mem);

/// @brief Max or average pooling of N x C x H x W codes; the int8 result is requantized by
/// `ratio` (s_in / s_out) with round-to-nearest-even.
Tensor pool_apply(const PdpDesc& d, const Tensor& in);

/// @brief ONNX LRN on real values; `in_scale`/`out` describe the int8 codes at either end.
Tensor lrn_apply(const CdpDesc& d, const Tensor& in, double in_scale, const Surface& out);

}  // namespace xpusim::models::npu
