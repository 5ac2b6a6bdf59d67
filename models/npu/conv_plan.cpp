#include "models/npu/conv_plan.h"

#include <algorithm>

#include "sim/error.h"

namespace xpusim::models::npu {

using isa::npu::conv_input_row_bytes;
using isa::npu::conv_input_rows;
using isa::npu::conv_kgroup_weight_bytes;
using isa::npu::feature_bytes;
using isa::npu::precision_bytes;

namespace {

int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

// Output rows per work item: about 256 output pixels, whole rows (pairs of rows in Winograd).
int64_t item_rows(const ConvDesc& d) {
    int64_t rows = std::max<int64_t>(1, ceil_div(256, std::max<int64_t>(d.q, 1)));
    if (d.mode == "winograd") rows += rows % 2;
    return rows;
}

}  // namespace

uint64_t stripe_cycles(int64_t n, int64_t max_len, int64_t wl) {
    if (n <= 0) return 0;
    const int64_t k = ceil_div(n, max_len);
    const int64_t len = n / k, rem = n % k;  // rem stripes of len + 1, the others of len
    return static_cast<uint64_t>(rem * std::max(len + 1, wl) + (k - rem) * std::max(len, wl));
}

uint64_t conv_strip_cycles(const ConvDesc& d, const NpuSpec& spec, int64_t rows) {
    const int64_t ac = spec.conv.atomic_c;
    const int64_t wl = spec.conv.weight_load_cycles(d.precision);
    const int64_t cg = d.c / d.groups;
    if (d.mode == "image") {
        // channel pre-extension folds S into C; post-extension merges post_ext lines
        const int64_t atoms = ceil_div(d.c * d.s * d.post_ext, ac) * ceil_div(d.r, d.post_ext);
        return static_cast<uint64_t>(atoms * rows) * stripe_cycles(d.q, 64, wl);
    }
    if (d.mode == "winograd") {
        const int64_t tiles = ceil_div(rows, 2) * ceil_div(d.q, 2);
        return static_cast<uint64_t>(ceil_div(cg, std::max<int64_t>(1, ac / 16))) *
               stripe_cycles(tiles, spec.conv.max_stripe, wl);
    }
    const int64_t blocks = ceil_div(cg, ac), taps = d.r * d.s;
    return static_cast<uint64_t>(blocks * taps) *
           stripe_cycles(rows * d.q, spec.conv.max_stripe, wl);
}

ConvPlan make_conv_plan(const ConvDesc& d, const NpuSpec& spec) {
    if (d.groups < 1 || d.c % d.groups || d.k % d.groups)
        throw sim::Error("NPU conv descriptor: channels not divisible by groups");
    ConvPlan plan;
    const int64_t eb = precision_bytes(d.precision);
    const int64_t atom = spec.atom_bytes();
    plan.kernels_per_group = d.k / d.groups;
    plan.kernels_per_atomic = spec.conv.kernels_per_atomic(d.precision);
    plan.kgroups_per_group = ceil_div(plan.kernels_per_group, plan.kernels_per_atomic);
    plan.kgroups = d.groups * plan.kgroups_per_group;
    plan.weight_load_cycles = spec.conv.weight_load_cycles(d.precision);
    plan.data_capacity = static_cast<uint64_t>(d.data_banks) * spec.cbuf.bank_bytes();
    plan.weight_capacity = static_cast<uint64_t>(d.weight_banks) * spec.cbuf.bank_bytes();
    const uint64_t row_bytes = conv_input_row_bytes(d, atom);
    plan.input_bytes = row_bytes * static_cast<uint64_t>(d.h);

    // Kernel group g: its kernel count and weight offset.
    std::vector<int64_t> kernels(static_cast<std::size_t>(plan.kgroups));
    std::vector<uint64_t> woff(static_cast<std::size_t>(plan.kgroups) + 1, 0);
    for (int64_t g = 0; g < plan.kgroups; ++g) {
        const int64_t in_group = g % plan.kgroups_per_group;
        kernels[g] = std::min(plan.kernels_per_atomic,
                              plan.kernels_per_group - in_group * plan.kernels_per_atomic);
        woff[g + 1] = woff[g] + conv_kgroup_weight_bytes(d, kernels[g]);
    }
    plan.weight_bytes = woff.back();

    const int64_t chunks = std::clamp<int64_t>(d.k_chunks, 1, plan.kgroups);
    const int64_t strips = std::max<int64_t>(1, d.h_strips);
    const int64_t srows = std::max<int64_t>(1, d.strip_rows);
    const int64_t irows = item_rows(d);
    const uint64_t image_bytes = plan.input_bytes;
    for (int64_t c = 0; c < chunks; ++c) {
        const int64_t g0 = c * plan.kgroups / chunks, g1 = (c + 1) * plan.kgroups / chunks;
        for (int64_t img = 0; img < d.n; ++img) {
            for (int64_t s = 0; s < strips; ++s) {
                const int64_t s0 = std::min(d.p, s * srows);
                const int64_t s1 = s == strips - 1 ? d.p : std::min(d.p, s0 + srows);
                if (s1 <= s0) continue;
                // Data: the strip's input rows, loaded in blocks as the items need them.
                std::vector<int64_t> block_load;
                int64_t loaded = -1;
                for (int64_t r0 = s0, b = 0; r0 < s1; r0 += irows, ++b) {
                    const int64_t r1 = std::min(s1, r0 + irows);
                    int64_t first = 0, last = 0;
                    conv_input_rows(d, r0, r1, first, last);
                    if (loaded < 0) loaded = first;
                    const int64_t from = std::max(first, loaded);
                    DataLoad dl{
                        img,
                        c,
                        s,
                        b,
                        image_bytes * static_cast<uint64_t>(img) +
                            static_cast<uint64_t>(from) * row_bytes,
                        static_cast<uint64_t>(std::max<int64_t>(0, last - from)) * row_bytes};
                    loaded = std::max(loaded, last);
                    block_load.push_back(static_cast<int64_t>(plan.data_loads.size()));
                    plan.data_loads.push_back(dl);
                }
                const uint64_t strip_cycles = conv_strip_cycles(d, spec, s1 - s0);
                const int64_t strip_pixels = (s1 - s0) * d.q;
                for (int64_t g = g0; g < g1; ++g) {
                    int64_t wload = -1;
                    // Resident weights are loaded once per chunk, for every image; streamed
                    // ones for every strip of every image.
                    if ((img == 0 && s == 0) || !d.weights_resident) {
                        wload = static_cast<int64_t>(plan.weight_loads.size());
                        plan.weight_loads.push_back({img, c, s, g, woff[g], woff[g + 1] - woff[g]});
                    }
                    int64_t done_pixels = 0;
                    for (int64_t r0 = s0, b = 0; r0 < s1; r0 += irows, ++b) {
                        const int64_t r1 = std::min(s1, r0 + irows);
                        ConvItem it;
                        it.image = img, it.chunk = c, it.strip = s, it.kgroup = g, it.block = b;
                        it.data_load = block_load[static_cast<std::size_t>(b)];
                        it.weight_load = b == 0 ? wload : -1;
                        it.row0 = r0, it.row1 = r1;
                        it.pixels = (r1 - r0) * d.q;
                        it.kernels = kernels[g];
                        // cumulative rounding: the items of a strip add up to strip_cycles
                        const uint64_t before = strip_cycles * static_cast<uint64_t>(done_pixels) /
                                                static_cast<uint64_t>(strip_pixels);
                        done_pixels += it.pixels;
                        const uint64_t after = strip_cycles * static_cast<uint64_t>(done_pixels) /
                                               static_cast<uint64_t>(strip_pixels);
                        it.mac_cycles = after - before;
                        it.macs = static_cast<uint64_t>(it.pixels * it.kernels * (d.c / d.groups) *
                                                        d.r * d.s);
                        it.out_elems = static_cast<uint64_t>(it.pixels * it.kernels);
                        it.out_bytes = feature_bytes(it.pixels, it.kernels, eb, atom);
                        it.last_in_strip_kgroup = r1 == s1;
                        it.last_in_strip = r1 == s1 && g == g1 - 1;
                        it.last_in_chunk = it.last_in_strip && s == strips - 1 && img == d.n - 1;
                        plan.mac_cycles += it.mac_cycles;
                        plan.macs += it.macs;
                        plan.output_bytes += it.out_bytes;
                        plan.items.push_back(it);
                    }
                }
            }
        }
    }
    return plan;
}

}  // namespace xpusim::models::npu
