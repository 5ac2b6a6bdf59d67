// DramTimingModel against completion times derived by hand. The model (sim/memory/dram.h):
// a transfer is cut into interleave-sized chunks; chunk i goes to channel i mod C, bank
// (i / C) mod B, row addr / (row_bytes * C * B); each chunk starts when its channel is free
// (plus row_miss_ns if its bank has another row open) and takes bytes / (bandwidth / C); the
// transfer completes at its last chunk's end plus latency_ns.
#include <catch2/catch.hpp>

#include "sim/memory/dram.h"

using xpusim::sim::DramSpec;
using xpusim::sim::DramTimingModel;

namespace {

// 1 B/ns per channel, 8 banks of 2 KiB rows, 256 B interleave, 10 ns row miss, 5 ns latency.
DramSpec spec(int64_t channels) {
    DramSpec d;
    d.kind = "test";
    d.bandwidth_gbps = static_cast<double>(channels);  // GB/s = B/ns
    d.channels = channels;
    d.banks = 8;
    d.row_bytes = 2048;
    d.interleave_bytes = 256;
    d.row_miss_ns = 10;
    d.latency_ns = 5;
    return d;
}

}  // namespace

TEST_CASE("dram: a stream misses once per bank, then hits", "[dram]") {
    DramTimingModel m(spec(1));
    // 2048 B = 8 chunks of 256 B on banks 0..7 of row 0, all closed: each 10 + 256 ns, in turn
    // on the one channel: 8 * 266 = 2128, + 5 latency.
    CHECK(m.access(0, 2048, 0.0, false) == Approx(2133.0));
    CHECK(m.row_misses() == 8);
    // Again: every bank has row 0 open, so 8 * 256 = 2048 ns after 2133, + 5.
    CHECK(m.access(0, 2048, 2133.0, false) == Approx(4186.0));
    CHECK(m.row_hits() == 8);
    CHECK(m.bytes_read() == 4096);
    CHECK(m.busy_ns() == Approx(4096.0));
}

TEST_CASE("dram: two rows of one bank conflict", "[dram]") {
    DramTimingModel m(spec(1));
    // 16384 = row_bytes * channels * banks: the next row of bank 0.
    CHECK(m.access(0, 256, 0.0, false) == Approx(271.0));      // miss: 10 + 256, + 5
    CHECK(m.access(16384, 256, 0.0, false) == Approx(537.0));  // waits for the channel (266), miss
    CHECK(m.access(0, 256, 0.0, true) == Approx(803.0));       // row 0 was closed by row 1
    CHECK(m.row_misses() == 3);
    CHECK(m.row_hits() == 0);
    CHECK(m.bytes_written() == 256);
}

TEST_CASE("dram: consecutive chunks interleave over the channels", "[dram]") {
    // Two chunks of 256 B: one channel serves them in turn, two channels at once.
    DramTimingModel one(spec(1)), two(spec(2));
    CHECK(one.access(0, 512, 0.0, false) == Approx(2 * 266.0 + 5));
    CHECK(two.access(0, 512, 0.0, false) == Approx(266.0 + 5));
}
