// LPU: hand-written programs against cycle counts derived by hand, the schedule checker's
// verdicts, Repeat in closed form against its unrolled form, a 2-chip pipeline, the text form.
// The chip is groq_tsp's layout with the latencies set here: MEM Read 5 cycles, VXM 4, one stream
// hop per slice per cycle, 20 superlanes (the last finishes 19 cycles after the first).
// Positions (isa/lpu/lpu_program.h): MEM.W0 = 45, VXM = 46, MEM.E0 = 47, MEM.E1 = 48, MEM.E2 = 49.
#include <catch2/catch.hpp>

#include "frontends/lower/lpu/lpu_scheduler.h"
#include "isa/lpu/lpu_program.h"
#include "models/lpu/lpu_checker.h"
#include "sim/config/fields.h"
#include "sim/error.h"
#include "sim/runtime/target_model.h"

using namespace xpusim;
using namespace xpusim::isa::lpu;

namespace {

LpuSpec chip_spec(const std::vector<std::string>& overrides = {}) {
    const std::string yaml = R"(
target: lpu
clock_mhz: 900
precision: int8
mem: {slices: 88, read_latency_cycles: 5}
stream: {slices_per_hop: 1, hop_cycles: 1}
vxm: {latency_cycles: 4}
lanes: {superlanes: 20, lanes_per_superlane: 16}
c2c: {gbps_per_link: 14, hop_latency_ns: 600}
)";
    return sim::config::parse_spec<LpuSpec>(sim::config::ConfigLoader({}).load_string(yaml, "chip.yaml", overrides));
}

Instr ins(int chip, const std::string& q, int64_t cycle, Op op) {
    Instr i;
    i.chip = chip, i.queue = q, i.cycle = cycle, i.op = op;
    return i;
}

// a + b -> c on one chip: Read a (MEM.E0) and b (MEM.W0) meet at the VXM, the sum goes to MEM.E1.
//   Read @t:      out at t + 5 at 47 (a, westward) and 45 (b, eastward); both reach the VXM (46)
//                 one hop later: t + 6
//   Vbinary @t+6: out at t + 10 at 46, eastward; reaches MEM.E1 (48) two hops later: t + 12
//   Write @t+12:  busy one cycle: the program ends at t + 13, the last superlane 19 cycles later.
std::vector<Instr> add_program(int chip, int64_t t, int64_t repeat, int64_t stride, int64_t tag0) {
    Instr a = ins(chip, "MEM.E0", t, Op::Read);
    a.out = {Dir::West, 0, 1}, a.tag = tag0;
    Instr b = ins(chip, "MEM.W0", t, Op::Read);
    b.out = {Dir::East, 1, 1}, b.tag = tag0 + 1;
    Instr v = ins(chip, "VXM.0", t + 6, Op::Vbinary);
    v.in = {Dir::West, 0, 1}, v.expect = tag0, v.in2 = {Dir::East, 1, 1}, v.expect2 = tag0 + 1;
    v.out = {Dir::East, 2, 1}, v.tag = tag0 + 2;
    Instr w = ins(chip, "MEM.E1", t + 12, Op::Write);
    w.in = {Dir::East, 2, 1}, w.expect = tag0 + 2, w.address = 1;
    std::vector<Instr> out = {a, b, v, w};
    for (auto& i : out) i.repeat = repeat, i.stride = stride;
    return out;
}

LpuProgram program_of(std::vector<Instr> instrs, int chips = 1) {
    LpuProgram p;
    p.spec = chip_spec();
    p.chips = chips;
    p.instructions = std::move(instrs);
    return p;
}

sim::Results simulate(const LpuProgram& p) {
    sim::RunOptions o;
    o.timing_only = true;
    return sim::target_models().get("lpu").create()->simulate(p, {}, o);
}

}  // namespace

TEST_CASE("lpu: arithmetic sequences intersect in closed form as they do unrolled", "[lpu]") {
    using models::lpu::covers;
    using models::lpu::intersect;
    using models::lpu::Seq;
    CHECK(intersect({0, 3, 10}, {6, 5, 4}));    // 6 is in both
    CHECK_FALSE(intersect({0, 4, 10}, {1, 2, 20}));  // even vs odd
    CHECK(intersect({100, 7, 1000}, {3, 11, 1000}));
    CHECK_FALSE(intersect({0, 1, 5}, {5, 1, 5}));  // [0, 4] and [5, 9]
    CHECK(covers({10, 2, 50}, {14, 4, 10}));
    CHECK_FALSE(covers({10, 2, 50}, {15, 4, 10}));
    // Against brute force over a grid of small sequences.
    int mismatches = 0;
    for (int64_t a = 0; a < 12; ++a)
        for (int64_t da = 1; da < 6; ++da)
            for (int64_t b = 0; b < 12; ++b)
                for (int64_t db = 1; db < 6; ++db)
                    for (int64_t na = 1; na < 5; ++na) {
                        const int64_t nb = 6 - na;
                        bool brute = false;
                        for (int64_t i = 0; i < na; ++i)
                            for (int64_t j = 0; j < nb; ++j) brute |= a + i * da == b + j * db;
                        mismatches += brute != intersect({a, da, na}, {b, db, nb});
                    }
    CHECK(mismatches == 0);
}

TEST_CASE("lpu: Read -> VXM Add -> Write takes the cycles its latencies and hops give", "[lpu]") {
    // One vector: the Write issues at 12 and ends at 13; + 19 for the last superlane = 32.
    CHECK(simulate(program_of(add_program(0, 0, 1, 1, 1))).cycles == 32);
    // Repeat 10,1: the last Write issues at 12 + 9 = 21: 22 + 19 = 41.
    CHECK(simulate(program_of(add_program(0, 0, 10, 1, 1))).cycles == 41);
}

TEST_CASE("lpu: a conflicting schedule is a ScheduleError naming the chip, queue, instruction, cycle and stream", "[lpu]") {
    // The Read from MEM.E2 (49) at 0 puts its vector on W0 at 5 (diagonal 5 + 49 = 54); a Read
    // from MEM.E0 (47, between it and the VXM) at 2 writes W0 at 7, on diagonal 7 + 47 = 54 too:
    // the VXM at 46 on cycle 8 finds the second vector, not the one it expects.
    Instr far = ins(0, "MEM.E2", 0, Op::Read);
    far.out = {Dir::West, 0, 1}, far.tag = 1;
    Instr near = ins(0, "MEM.E0", 2, Op::Read);
    near.out = {Dir::West, 0, 1}, near.tag = 2;
    Instr v = ins(0, "VXM.0", 8, Op::Vunary);
    v.in = {Dir::West, 0, 1}, v.expect = 1;
    REQUIRE_THROWS_AS(simulate(program_of({far, near, v})), sim::ScheduleError);
    REQUIRE_THROWS_WITH(simulate(program_of({far, near, v})),
                        Catch::Contains("chip 0") && Catch::Contains("queue VXM.0") && Catch::Contains("cycle 8") &&
                            Catch::Contains("stream W0") && Catch::Contains("overwrote"));
    // Without the overwrite it runs: Read 0, vector at the VXM at 5 + 3 = 8.
    CHECK_NOTHROW(simulate(program_of({far, v})));
    // A consumer one cycle late finds no vector of its producer.
    v.cycle = 9;
    REQUIRE_THROWS_WITH(simulate(program_of({far, v})), Catch::Contains("is not passing"));
    // Two reads of one MEM slice in one cycle.
    Instr r1 = ins(0, "MEM.E3", 4, Op::Read), r2 = ins(0, "MEM.E3", 4, Op::Read);
    r2.address = 1;
    REQUIRE_THROWS_WITH(simulate(program_of({r1, r2})), Catch::Contains("MEM.E3") && Catch::Contains("cycle 4"));
    // A read and a write of one bank in one cycle; on different banks they may share the cycle.
    Instr w = ins(0, "MEM.E3", 4, Op::Write);
    w.address = 2;  // bank 0, as r1's address 0
    REQUIRE_THROWS_WITH(simulate(program_of({r1, w})), Catch::Contains("one bank"));
    w.address = 3;
    CHECK_NOTHROW(simulate(program_of({r1, w})));
    // A Sync no Notify releases.
    Instr s = ins(0, "ICU", 0, Op::Sync);
    s.count = 7;
    REQUIRE_THROWS_WITH(simulate(program_of({s})), Catch::Contains("barrier 7"));
}

TEST_CASE("lpu: a Repeat checked in closed form gives what its unrolled instructions give", "[lpu]") {
    // 50 repetitions 3 cycles apart, as one Repeat and as 50 instructions.
    const auto repeated = add_program(0, 0, 50, 3, 1);
    std::vector<Instr> unrolled;
    for (int64_t k = 0; k < 50; ++k)
        for (Instr i : add_program(0, 3 * k, 1, 1, 1 + 3 * k)) unrolled.push_back(i);
    const sim::Results a = simulate(program_of(repeated));
    const sim::Results b = simulate(program_of(unrolled));
    CHECK(a.cycles == b.cycles);
    CHECK(*a.cycles == 12 + 49 * 3 + 1 + 19);
    // And both reject the same clash: a second program a cycle later would read MEM.E0 in
    // cycle 3k + 1 ... never; but one 3 cycles later reads it in the same cycles as repetition 1.
    auto clash = repeated;
    for (Instr i : add_program(0, 3, 1, 1, 1000)) clash.push_back(i);
    auto clash_unrolled = unrolled;
    for (Instr i : add_program(0, 3, 1, 1, 1000)) clash_unrolled.push_back(i);
    CHECK_THROWS_AS(simulate(program_of(clash)), sim::ScheduleError);
    CHECK_THROWS_AS(simulate(program_of(clash_unrolled)), sim::ScheduleError);
    auto apart = repeated;
    for (Instr i : add_program(0, 1, 1, 1, 1000)) apart.push_back(i);  // cycle 1: between repetitions
    CHECK_NOTHROW(simulate(program_of(apart)));
}

TEST_CASE("lpu: a 2-chip pipeline lasts its stages plus the C2C transfer", "[lpu]") {
    // Chip 0 adds one vector (cycles 0..13), then sends 3200 bytes: 3200 / 14 GB/s = 228.6 ns
    // + 600 ns hop = 828.6 ns = 745.7 -> 746 cycles; chip 1 receives at 13 + 746 = 759, then adds
    // (its Read at 760, its Write ends at 773). 773 + 19 = 792 = 13 + 746 + 1 + 13 + 19.
    auto instrs = add_program(0, 0, 1, 1, 1);
    Instr send = ins(0, "C2C", 13, Op::Send);
    send.count = 3200, send.peer = 1, send.link = 0, send.tag = 77;
    Instr recv = ins(1, "C2C", 759, Op::Receive);
    recv.count = 3200, recv.peer = 0, recv.link = 6, recv.tag = 77;  // chip 1's link 6 reaches chip 1 + 7 = 0 (mod 8)
    instrs.push_back(send);
    instrs.push_back(recv);
    for (Instr i : add_program(1, 760, 1, 1, 1)) instrs.push_back(i);
    CHECK(chip_spec().c2c_cycles(3200, 0, 1) == 746);
    CHECK(simulate(program_of(instrs, 2)).cycles == 792);
    // A Receive before the data arrives is a schedule error.
    instrs[5].cycle = 758;
    CHECK_THROWS_WITH(simulate(program_of(instrs, 2)), Catch::Contains("before it arrives"));
}

TEST_CASE("lpu: a program prints as text and reads back", "[lpu]") {
    auto instrs = add_program(0, 0, 10, 2, 1);
    LpuProgram p = program_of(instrs);
    p.placements.push_back({"x", 0, 47, 0, 3200, "input"});
    const std::string text = p.to_asm();
    CHECK(text.find("Repeat 10,2") != std::string::npos);
    const LpuProgram back = LpuProgram::from_asm(text);
    CHECK(back.to_asm() == text);
    CHECK(simulate(back).cycles == simulate(p).cycles);
    CHECK_THROWS_AS(LpuProgram::from_asm(text + "0 MEM.Q9 @0 Read\n"), sim::ModelError);
}

TEST_CASE("lpu: C2C routes follow the GroqNode topology", "[lpu]") {
    // 8 chips a node, fully connected: chip c's local link k reaches chip c + k + 1 (mod 8), one
    // hop; another node's chip over global link 7 + (its node % 4), 3 hops (local, global, local).
    const LpuSpec s = chip_spec();
    CHECK(s.c2c_route(0, 1).link == 0);
    CHECK(s.c2c_route(1, 0).link == 6);
    CHECK(s.c2c_route(3, 5).link == 1);
    CHECK(s.c2c_route(7, 0).link == 0);
    CHECK(s.c2c_route(0, 1).hops == 1);
    CHECK(s.c2c_route(0, 9).link == 8);
    CHECK(s.c2c_route(0, 9).hops == 3);
    // 3200 B over 14 GB/s = 228.57 ns; + 3 x 600 ns = 2028.57 ns = 1825.7 -> 1826 cycles at 900 MHz,
    // the link busy for 228.57 ns = 205.7 -> 206 cycles.
    CHECK(s.c2c_cycles(3200, 0, 9) == 1826);
    CHECK(s.c2c_serialize_cycles(3200) == 206);
    // A Send on a link that does not reach its peer is a schedule error.
    auto instrs = add_program(0, 0, 1, 1, 1);
    Instr send = ins(0, "C2C.1", 13, Op::Send);
    send.count = 3200, send.peer = 1, send.link = 1, send.tag = 77;
    Instr recv = ins(1, "C2C.6", 759, Op::Receive);
    recv.count = 3200, recv.peer = 0, recv.link = 6, recv.tag = 77;
    instrs.push_back(send);
    instrs.push_back(recv);
    CHECK_THROWS_WITH(simulate(program_of(instrs, 2)), Catch::Contains("the topology connects them by link 0"));
}

TEST_CASE("lpu scheduler: a reserved interval that ends below zero still conflicts", "[lpu]") {
    // Stream diagonals (cycle - position) are negative for vectors read early far from the chip's
    // west edge: a reservation [-42, -10) must block [-62, -35) and leave [-10, 0) free.
    xpusim::lower::lpu::Intervals r;
    r.add(-42, -10);
    REQUIRE(r.conflict_end(-62, -35).has_value());
    CHECK(*r.conflict_end(-62, -35) == -10);
    CHECK_FALSE(r.conflict_end(-10, 0).has_value());
    CHECK_FALSE(r.conflict_end(-80, -42).has_value());
}
