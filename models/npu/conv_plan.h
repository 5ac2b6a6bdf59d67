// How the convolution pipeline walks one conv descriptor: the CDMA's loads into CBUF and the
// CSC's work items, with the closed-form CMAC cycles of each item. Derived from the descriptor
// (including the compiler's CBUF plan) and the Spec only, so CDMA, CSC/CMAC, CACC and a fused
// SDP all see the same sequence.
//
// Loop nest (NVDLA: channel op inside group op inside the strips the CBUF plan asks for):
//   for chunk c < k_chunks          kernel groups [c*G/k_chunks, ...) resident together, loaded
//                                   once for all images when the plan keeps weights resident
//    for image n < N
//     for strip s < h_strips        output rows [s*strip_rows, ...); its input rows (+ halo)
//       for kernel group g          atomic_k kernels (atomic_k/2 in fp16); a group of a grouped
//                                   conv is its own kernel groups (depthwise: one kernel each)
//         for item b                a few output rows of the strip (simulation granularity)
//
// CMAC cycles of one kernel group over one strip, direct mode (one atomic op per cycle):
//   blocks = ceil(C_g / atomic_c), taps = R * S
//   the strip's N = rows * Q output pixels are cut into k = ceil(N / max_stripe) stripes of
//   near-equal length l_i; a stripe keeps one weight cube per MAC cell, and loading the next
//   stripe's weights takes wl = ceil(atomic_c * kernels * bytes / weight_read_bytes) cycles, so
//   cycles = blocks * taps * sum_i max(l_i, wl)
// Image-input mode (first layer, pixel format): channel pre-extension C' = C * S and post-
// extension of `post_ext` lines give ceil(C' * post_ext / atomic_c) * ceil(R / post_ext) atomic
// ops per pixel, stripes of up to 64 that never cross a line:
//   cycles = atoms * rows * sum_{stripes of a line} max(l_i, wl)
// Winograd (3x3, stride 1): one atomic op covers a 4x4 input tile of atomic_c/16 channels and
// yields 2x2 outputs per kernel: cycles = ceil(C / (atomic_c/16)) * sum_i max(l_i, wl) over
// ceil(rows/2) * ceil(Q/2) tiles.
// An item's share of its strip's cycles is proportional to its pixels (cumulative rounding, so
// the items add up exactly).
#pragma once

#include <cstdint>
#include <vector>

#include "isa/npu/descriptors.h"
#include "isa/npu/layout.h"

namespace xpusim::models::npu {

using isa::npu::ConvDesc;
using isa::npu::NpuSpec;

struct DataLoad {
    int64_t image = 0, chunk = 0, strip = 0, block = 0;
    uint64_t offset = 0, bytes = 0;  // within the source surface
};

struct WeightLoad {
    int64_t image = 0, chunk = 0, strip = 0, kgroup = 0;
    uint64_t offset = 0, bytes = 0;
};

struct ConvItem {
    int64_t image = 0, chunk = 0, strip = 0, kgroup = 0, block = 0;
    int64_t data_load = -1;      // index into data_loads the item waits for
    int64_t weight_load = -1;    // index into weight_loads the item waits for (first block only)
    int64_t row0 = 0, row1 = 0;  // output rows
    int64_t pixels = 0, kernels = 0;
    uint64_t mac_cycles = 0;
    uint64_t macs = 0;       // useful multiply-accumulates
    uint64_t out_elems = 0;  // outputs handed to CACC/SDP
    uint64_t out_bytes = 0;  // in the output surface layout (channels padded to the atom)
    bool last_in_strip_kgroup = false;  // releases streamed weights
    bool last_in_strip = false;         // releases the strip's data
    bool last_in_chunk = false;         // releases resident weights
};

struct ConvPlan {
    int64_t kernels_per_group = 1;  // K / groups
    int64_t kernels_per_atomic = 1;
    int64_t kgroups_per_group = 1;
    int64_t kgroups = 1;  // over all groups
    int64_t weight_load_cycles = 1;
    uint64_t data_capacity = 0, weight_capacity = 0;  // bytes of the banks given to each
    uint64_t input_bytes = 0, weight_bytes = 0, output_bytes = 0;
    std::vector<DataLoad> data_loads;
    std::vector<WeightLoad> weight_loads;
    std::vector<ConvItem> items;
    uint64_t mac_cycles = 0, macs = 0;
};

/// @brief sum_i max(l_i, wl) over the near-equal stripes of at most `max_len` covering `n`.
uint64_t stripe_cycles(int64_t n, int64_t max_len, int64_t wl);
/// @brief CMAC cycles of one kernel group over `rows` output rows (one strip), per the header.
uint64_t conv_strip_cycles(const ConvDesc& d, const NpuSpec& spec, int64_t rows);

ConvPlan make_conv_plan(const ConvDesc& d, const NpuSpec& spec);

}  // namespace xpusim::models::npu
