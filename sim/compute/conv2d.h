// 2-D convolution geometry and im2col, for the targets' datapaths (which see convolutions as
// GEMMs: M = output pixels, K = input channels per group x kernel taps, N = output channels per
// group). 1-D convolutions are 2-D ones with height 1.
#pragma once

#include <cstdint>

namespace xpusim::sim {

struct Conv2dShape {
    int64_t batch = 1, in_channels = 1, in_h = 1, in_w = 1;
    int64_t out_channels = 1, kernel_h = 1, kernel_w = 1;
    int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
    int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
    int64_t group = 1;

    int64_t out_h() const {
        return (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
    }
    int64_t out_w() const {
        return (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
    }
    int64_t in_channels_per_group() const { return in_channels / group; }
    int64_t out_channels_per_group() const { return out_channels / group; }
    /// GEMM view per image and group.
    int64_t gemm_m() const { return out_h() * out_w(); }
    int64_t gemm_k() const { return in_channels_per_group() * kernel_h * kernel_w; }
    int64_t gemm_n() const { return out_channels_per_group(); }
    uint64_t macs() const {
        return static_cast<uint64_t>(batch) * group * gemm_m() * gemm_k() * gemm_n();
    }
};

/// @brief Lowers one image's channels [c0, c0 + in_channels_per_group) into a row-major
/// (P*Q) x (Cg*R*S) matrix: row = output pixel, column = (channel, tap). `x` points at the
/// image (C x H x W); padding reads `pad_value` (the zero point for quantized data).
template <class T>
void im2col_2d(const T* x, const Conv2dShape& s, int64_t c0, T* col, T pad_value = T(0)) {
    const int64_t P = s.out_h(), Q = s.out_w();
    const int64_t cg = s.in_channels_per_group();
    const int64_t K = cg * s.kernel_h * s.kernel_w;
    for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
            T* row = col + (p * Q + q) * K;
            int64_t k = 0;
            for (int64_t c = 0; c < cg; ++c) {
                const T* xc = x + (c0 + c) * s.in_h * s.in_w;
                for (int64_t r = 0; r < s.kernel_h; ++r) {
                    const int64_t h = p * s.stride_h - s.pad_top + r * s.dilation_h;
                    for (int64_t t = 0; t < s.kernel_w; ++t, ++k) {
                        const int64_t w = q * s.stride_w - s.pad_left + t * s.dilation_w;
                        row[k] = (h < 0 || h >= s.in_h || w < 0 || w >= s.in_w)
                                     ? pad_value
                                     : xc[h * s.in_w + w];
                    }
                }
            }
        }
}

/// @brief As im2col_2d, transposed: a row-major (Cg*R*S) x (P*Q) matrix, row = (channel, tap),
/// column = output pixel, so W (K x Cg*R*S) times it is the output in NCHW order.
template <class T>
void im2col_2d_by_tap(const T* x, const Conv2dShape& s, int64_t c0, T* col, T pad_value = T(0)) {
    const int64_t P = s.out_h(), Q = s.out_w();
    const int64_t cg = s.in_channels_per_group();
    T* row = col;
    for (int64_t c = 0; c < cg; ++c) {
        const T* xc = x + (c0 + c) * s.in_h * s.in_w;
        for (int64_t r = 0; r < s.kernel_h; ++r)
            for (int64_t t = 0; t < s.kernel_w; ++t, row += P * Q)
                for (int64_t p = 0; p < P; ++p) {
                    const int64_t h = p * s.stride_h - s.pad_top + r * s.dilation_h;
                    for (int64_t q = 0; q < Q; ++q) {
                        const int64_t w = q * s.stride_w - s.pad_left + t * s.dilation_w;
                        row[p * Q + q] = (h < 0 || h >= s.in_h || w < 0 || w >= s.in_w) ? pad_value : xc[h * s.in_w + w];
                    }
                }
    }
}

}  // namespace xpusim::sim
