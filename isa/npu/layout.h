// How tensors sit in the NPU's DRAM and CBUF, which both the compiler (tiling, traffic) and the
// model (DMA sizes) need. NVDLA stores a feature cube as surfaces of one memory atom
// (NpuSpec::atom_bytes(): 32 B on nv_full, 8 B on nv_small) per pixel: C is padded up to whole atoms,
// so C = 3 costs a full atom per pixel. The first layer's image is read in pixel format instead
// (channels packed, no padding). A Gemm/MatMul input is `rows` pixels of C channels.
#pragma once

#include <algorithm>
#include <cstdint>

#include "isa/npu/descriptors.h"

namespace xpusim::isa::npu {

inline uint64_t round_up(uint64_t x, uint64_t to) {
    return to ? (x + to - 1) / to * to : x;
}

/// @brief Bytes of `pixels` pixels of `channels` channels in feature layout.
inline uint64_t feature_bytes(int64_t pixels, int64_t channels, int64_t elem_bytes, int64_t atom) {
    return static_cast<uint64_t>(pixels) *
           round_up(static_cast<uint64_t>(channels * elem_bytes), static_cast<uint64_t>(atom));
}

/// @brief Bytes of a logical tensor in feature layout: [N, C, spatial...] (or [rows..., C] when
/// channel_last). Scalars and vectors count as one pixel.
inline uint64_t surface_bytes(const sim::Shape& shape, int64_t elem_bytes, int64_t atom,
                              bool channel_last) {
    if (shape.size() < 2) return feature_bytes(1, shape.empty() ? 1 : shape[0], elem_bytes, atom);
    const int64_t channels = channel_last ? shape.back() : shape[1];
    const int64_t pixels = sim::shape_numel(shape) / std::max<int64_t>(channels, 1);
    return feature_bytes(pixels, channels, elem_bytes, atom);
}

/// @brief Bytes the CDMA fetches for one input row (all channels).
inline uint64_t conv_input_row_bytes(const ConvDesc& d, int64_t atom) {
    const int64_t eb = precision_bytes(d.precision);
    if (d.mode == "image") return static_cast<uint64_t>(d.w * d.c * eb);  // packed pixels
    return feature_bytes(d.w, d.c, eb, atom);
}

/// @brief Bytes of one kernel group's weights (Winograd kernels are 4x4 after the transform).
inline uint64_t conv_kgroup_weight_bytes(const ConvDesc& d, int64_t kernels) {
    const int64_t eb = precision_bytes(d.precision);
    const int64_t taps = d.mode == "winograd" ? 16 : d.r * d.s;
    return static_cast<uint64_t>(kernels * taps * (d.c / d.groups) * eb);
}

/// @brief Input rows [first, last) needed for output rows [row0, row1), clipped to the input.
inline void conv_input_rows(const ConvDesc& d, int64_t row0, int64_t row1, int64_t& first,
                            int64_t& last) {
    if (d.fc) {
        first = 0, last = 1;
        return;
    }
    first = std::clamp<int64_t>(row0 * d.stride_h - d.pad_t, 0, d.h);
    last = std::clamp<int64_t>((row1 - 1) * d.stride_h - d.pad_t + (d.r - 1) * d.dil_h + 1, 0, d.h);
}

}  // namespace xpusim::isa::npu
