// NPU numerics against hand computation: round-to-nearest-even fixed-point requantization, and a
// small int8 conv through the whole model (CMAC int32 accumulation, SDP bias + per-channel
// requantization + element-wise add + ReLU + saturation).
#include <catch2/catch.hpp>

#include "frontends/lower/npu/tiling.h"
#include "isa/npu/fixed_point.h"
#include "isa/npu/npu_spec.h"
#include "test_npu_util.h"

using namespace npu_test;
using isa::npu::FixedMultiplier;
using isa::npu::rne_shift;

TEST_CASE("npu: fixed-point requantization rounds to nearest even", "[npu]") {
    CHECK(rne_shift(5, 1) == 2);    // 2.5 -> 2
    CHECK(rne_shift(7, 1) == 4);    // 3.5 -> 4
    CHECK(rne_shift(-5, 1) == -2);  // -2.5 -> -2
    CHECK(rne_shift(-7, 1) == -4);  // -3.5 -> -4
    CHECK(rne_shift(-6, 2) == -2);  // -1.5 -> -2
    CHECK(rne_shift(13, 2) == 3);   // 3.25 -> 3
    // 0.5 = 2^30 * 2^-31 exactly; 1/3 to 31 significant bits.
    const auto half = FixedMultiplier::from_double(0.5);
    CHECK(half.mantissa == (1 << 30));
    CHECK(half.shift == 31);
    CHECK(half.apply(13) == 6);  // 6.5 -> 6
    CHECK(half.apply(15) == 8);  // 7.5 -> 8
    const auto third = FixedMultiplier::from_double(1.0 / 3.0);
    CHECK(third.value() == Approx(1.0 / 3.0).epsilon(1e-9));
    CHECK(third.apply(300) == 100);
    CHECK(isa::npu::saturate_int8(129) == 127);
    CHECK(isa::npu::saturate_int8(-200) == -128);
}

TEST_CASE("npu: small int8 conv against a hand computation", "[npu]") {
    // x (scale 1): channel 0 = [1, -2], channel 1 = [3, 4] over 2 pixels (1x2 image);
    // w: kernel 0 = [2, 1], kernel 1 = [-1, 3] (1x1). int32 accumulators:
    //   k0: 2*1 + 1*3 = 5,   2*-2 + 1*4 = 0;   k1: -1*1 + 3*3 = 8,   -1*-2 + 3*4 = 14
    // SDP, frac_bits 8 (working units of 1/256 of the output step):
    //   cvt   v = M_k (acc + bias_k), bias = [13, -3], M = [0.5, 0.25] * 256
    //         k0: 18 * 0.5 = 9, 13 * 0.5 = 6.5;  k1: 5 * 0.25 = 1.25, 11 * 0.25 = 2.75
    //   add   e = [120, 0, -128, 5] (int8, scale 1: M = 256): 129, 6.5, -126.75, 7.75
    //   relu  129, 6.5, 0, 7.75
    //   out   round half to even, saturate: 127 (saturated), 6 (6.5 -> even), 0, 8
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {1, 2, 1, 2}, 0x0, 64);
    const int32_t e = add_surface(p, "e", "input", {1, 2, 1, 2}, 0x1000, 64);
    const int32_t w = add_surface(p, "w", "const", {2, 2, 1, 1}, 0x2000, 4);
    p.surface(w).data = sim::Tensor::from_vector<int8_t>({2, 2, 1, 1}, {2, 1, -1, 3});
    const auto m0 = FixedMultiplier::from_double(0.5 * 256),
               m1 = FixedMultiplier::from_double(0.25 * 256);
    const int32_t cvt = add_surface(p, "cvt", "const", {3, 2}, 0x3000, 24, sim::DType::Int32);
    p.surface(cvt).data = sim::Tensor::from_vector<int32_t>(
        {3, 2}, {13, -3, m0.mantissa, m1.mantissa, m0.shift, m1.shift});
    const int32_t y = add_surface(p, "y", "act", {1, 2, 1, 2}, 0x4000, 64, sim::DType::Int8, 0.5);
    ConvDesc d;
    d.src = x, d.weight = w, d.c = 2, d.h = 1, d.w = 2, d.k = 2, d.p = 1, d.q = 2;
    Descriptor cd;
    cd.nodes = {"conv"};
    cd.payload = d;
    const int32_t conv = p.add_descriptor(cd);
    SdpDesc s;
    s.dst = y, s.c = 2, s.h = 1, s.w = 2;
    SdpStage st_cvt, st_add, st_relu;
    st_cvt.op = "cvt", st_cvt.param = cvt;
    st_add.op = "add", st_add.operand = e, st_add.m = FixedMultiplier::from_double(256.0);
    st_relu.op = "relu";
    s.stages = {st_cvt, st_add, st_relu};
    Descriptor sd;
    sd.nodes = {"add", "conv"};
    sd.source = conv;
    sd.payload = s;
    p.add_descriptor(sd);
    p.inputs = {{"x", x}, {"e", e}};
    p.outputs = {{"y", y}};
    add_node(p, "conv", "Conv", "conv");
    const std::map<std::string, sim::Tensor> inputs = {
        {"x", sim::Tensor::from_vector<float>({1, 2, 1, 2}, {1, -2, 3, 4})},
        {"e", sim::Tensor::from_vector<float>({1, 2, 1, 2}, {120, 0, -128, 5})}};
    const auto r = run(p, test_config(), false, inputs);
    const sim::Tensor& out = r.outputs.at("y");
    REQUIRE(out.numel() == 4);
    // int8 codes * the output scale 0.5
    CHECK(out.data<float>()[0] == 63.5f);
    CHECK(out.data<float>()[1] == 3.0f);
    CHECK(out.data<float>()[2] == 0.0f);
    CHECK(out.data<float>()[3] == 4.0f);
    // timing-only keeps every timing decision
    CHECK(*run(p, test_config(), true).cycles == *r.cycles);
}

TEST_CASE("npu: CBUF tiling splits by height when the input does not fit", "[npu]") {
    // The split-conv geometry (16x16x64 in, 3x3 pad 1, 32 kernels: 16 KiB input, 18 KiB weights)
    // on 32 banks of 1 KiB: the weights need 18 banks, so at most 14 remain for data (< 16 KiB)
    // and the input must be cut into strips; with the weights resident the only cost is the
    // halo. Double-buffered strips (two in the data banks): d banks hold d/2 input rows, i.e.
    // d/2 - 2 output rows per strip:
    //   d = 10, 11: 3 rows/strip, 6 strips reading 4+5+5+5+5+2 = 26 input rows
    //   d = 12, 13: 4 rows/strip, 4 strips reading 5+6+6+5 = 22 rows
    //   d = 14:     5 rows/strip, 4 strips reading 6+7+7+2 = 22 rows
    // Single-buffered strips cannot overlap their loads (counted once more): d = 14 gives 12
    // rows/strip, 13 + 5 = 18 rows, costing 2 * 18 KiB > 22 KiB. Fewest banks win a tie (this
    // config has no DRAM latency, so extra strips cost nothing): 12 data banks, 4 strips of 4
    // rows, 22 * 1024 + 18432 = 40960 bytes read.
    const auto spec =
        sim::config::parse_spec<isa::npu::NpuSpec>(test_config({"cbuf.kib=32", "cbuf.banks=32"}));
    ConvDesc d;
    d.c = 64, d.h = 16, d.w = 16, d.k = 32, d.r = d.s = 3, d.p = d.q = 16;
    d.pad_t = d.pad_b = d.pad_l = d.pad_r = 1;
    const auto plan = lower::npu::plan_cbuf(d, spec);
    CHECK(plan.problem.empty());
    CHECK(plan.data_banks == 12);
    CHECK(plan.weight_banks == 20);
    CHECK(plan.h_strips == 4);
    CHECK(plan.strip_rows == 4);
    CHECK(plan.k_chunks == 1);
    CHECK(plan.weights_resident);
    CHECK(plan.dram_read_bytes == 40960);
    // A 2 KiB CBUF cannot hold one kernel group (18 KiB): a capacity problem, not a crash.
    const auto tiny =
        sim::config::parse_spec<isa::npu::NpuSpec>(test_config({"cbuf.kib=2", "cbuf.banks=2"}));
    CHECK_FALSE(lower::npu::plan_cbuf(d, tiny).problem.empty());
}
