// The DRAM timing (sim/memory) against times derived by hand. The test channel: 64-bit bus, BL8
// (64 B bursts), 12.8 GB/s per channel, so a burst holds the bus t_burst = 64 / 12.8 = 5 ns;
// 8 banks (no bank groups) of 2 KiB rows; tRCD = tRP = tCL = 10, tCWL = 8, tRAS = 30, tRC = 40,
// tRRD = 5, tFAW = 40, tCCD = 5, tWTR = 7.5, tRTW = 2, tWR = 15, tRTP = 7.5 ns; no refresh and
// no controller latency unless a test says so.
#include <catch2/catch.hpp>

#include <systemc>

#include "sim/memory/dma.h"
#include "sim/memory/dram.h"
#include "sim/runtime/simulation_context.h"

using namespace xpusim::sim;

namespace {

DramSpec test_spec(int64_t channels = 1) {
    DramSpec d;
    d.impl = "banked";
    d.channels = channels;
    d.bandwidth_gbps = 12.8 * static_cast<double>(channels);
    d.width_bits = 64;
    d.burst_length = 8;
    d.bank_groups = 1;
    d.banks_per_group = 8;
    d.row_bytes = 2048;
    d.interleave_bytes = 256;
    d.queue_depth = 32;
    d.latency_ns = 0;
    DramTimings& t = d.timing;
    t.tRCD = t.tRP = t.tCL = 10;
    t.tCWL = 8;
    t.tRAS = 30;
    t.tRC = 40;
    t.tRRD_S = t.tRRD_L = 5;
    t.tFAW = 40;
    t.tCCD_S = t.tCCD_L = 5;
    t.tWTR = 7.5;
    t.tRTW = 2;
    t.tWR = 15;
    t.tRTP = 7.5;
    t.tREFI = 0;  // off
    t.tRFC = 0;
    return d;
}

ChannelAccess access(int64_t bank, int64_t row, int64_t bytes = 64, bool write = false) {
    ChannelAccess a;
    a.bank = bank;
    a.row = row;
    a.bytes = bytes;
    a.write = write;
    return a;
}

std::unique_ptr<ChannelModel> channel(const DramSpec& s) {
    return channel_models().get(s.impl)(s);
}

}  // namespace

TEST_CASE("dram: a closed bank pays tRCD, an open row nothing, another row tRP + tRCD", "[dram]") {
    auto c = channel(test_spec());
    // Closed bank: ACT at 0, column at tRCD = 10, data at + tCL: 20 .. 25.
    auto s = c->serve(access(0, 0), 0, 0);
    CHECK(s.data_start_ns == Approx(20));
    CHECK(s.data_end_ns == Approx(25));
    CHECK_FALSE(s.row_hit);
    // Another row of bank 0: PRE no earlier than tRAS = 30 after the ACT, ACT tRP later at 40 (also
    // tRC = 40 after the first ACT), column at 50, data 60 .. 65.
    s = c->serve(access(0, 1), 0, s.next_decision_ns);
    CHECK(s.data_start_ns == Approx(60));
    CHECK(s.data_end_ns == Approx(65));
    // The same row again: a hit, tCCD = 5 after the last column (50): column 55, data 65 .. 70.
    s = c->serve(access(0, 1), 0, s.next_decision_ns);
    CHECK(s.row_hit);
    CHECK(s.data_start_ns == Approx(65));
    CHECK(s.data_end_ns == Approx(70));
    CHECK(c->counters().row_misses == 1);
    CHECK(c->counters().row_conflicts == 1);
    CHECK(c->counters().row_hits == 1);
}

TEST_CASE("dram: an activate in one bank overlaps a transfer from another", "[dram]") {
    auto c = channel(test_spec());
    // A: bank 0, ACT 0, column 10, data 20 .. 25. B (bank 1) arrived at 0 too, picked at 10:
    // its ACT goes back to tRRD = 5 after A's, column at max(10 + tCCD, 5 + tRCD) = 15, data
    // 25 .. 30, right behind A's. (Activating only when picked would give column 20, data 30.)
    const auto a = c->serve(access(0, 0), 0, 0);
    const auto b = c->serve(access(1, 0), 0, a.next_decision_ns);
    CHECK(a.data_end_ns == Approx(25));
    CHECK(b.data_start_ns == Approx(25));
    CHECK(b.data_end_ns == Approx(30));
}

TEST_CASE("dram: random accesses are limited by tFAW and tRC", "[dram]") {
    // 64 accesses of 64 B, each to another bank and row (bank k mod 8, row k / 8 + 1), all
    // arrived at 0. Every one needs an ACT: tRRD allows one per 5 ns, but tFAW allows four per
    // 40 ns, so ACTs come at 0, 5, 10, 15, 40, 45, 50, 55, ... (each bank's next ACT, 80 ns on,
    // is past its tRC = 40 and its PRE at tRAS = 30). Access k's data is ACT + tRCD + tCL ..
    // + t_burst: the last (k = 63) ACTs at 15 * 40 + 15 = 615 and ends at 640.
    //   sustained = 64 * 64 B / 640 ns = 6.4 B/ns, half of the 12.8 B/ns peak
    auto c = channel(test_spec());
    double now = 0, end = 0;
    for (int64_t k = 0; k < 64; ++k) {
        const auto s = c->serve(access(k % 8, k / 8 + 1), 0, now);
        now = s.next_decision_ns;
        end = s.data_end_ns;
    }
    CHECK(end == Approx(640));
    CHECK(64.0 * 64 / end == Approx(6.4));
    CHECK(c->counters().activates == 64);
}

TEST_CASE("dram: turning the bus between reads and writes costs tRTW and tWTR", "[dram]") {
    auto c = channel(test_spec());
    // Read: ACT 0, column 10, data 20 .. 25.
    auto r = c->serve(access(0, 0), 0, 0);
    // Write, same row: column >= read column + tCL + t_burst + tRTW - tCWL = 10 + 10 + 5 + 2 - 8
    // = 19; data at + tCWL: 27 .. 32.
    auto w = c->serve(access(0, 0, 64, true), 0, r.next_decision_ns);
    CHECK(w.data_start_ns == Approx(27));
    CHECK(w.data_end_ns == Approx(32));
    // Read again: column >= end of write data + tWTR = 39.5; data 49.5 .. 54.5.
    r = c->serve(access(0, 0), 0, w.next_decision_ns);
    CHECK(r.data_start_ns == Approx(49.5));
    CHECK(r.data_end_ns == Approx(54.5));
}

TEST_CASE("dram: the simple model is one pipe at the channel's bandwidth", "[dram]") {
    DramSpec d = test_spec();
    d.impl = "simple";
    auto c = channel(d);
    // 2048 B at 12.8 B/ns = 160 ns, back to back: 0 .. 160, 160 .. 320.
    CHECK(c->serve(access(0, 0, 2048), 0, 0).data_end_ns == Approx(160));
    CHECK(c->serve(access(5, 9, 2048), 0, 0).data_end_ns == Approx(320));
}

namespace {

// One initiator thread per transfer, each issuing at time 0 in the order given; records the
// completion time of each.
struct Initiators : sc_core::sc_module {
    SC_HAS_PROCESS(Initiators);
    struct Job {
        uint64_t addr, bytes;
        bool write;
        double done_ns = -1;
        std::unique_ptr<tlm_utils::simple_initiator_socket<Initiators>> socket;
    };
    std::vector<Job> jobs;
    Initiators(sc_core::sc_module_name n,
               std::vector<std::tuple<uint64_t, uint64_t, bool>> transfers)
        : sc_module(n) {
        for (auto& [a, b, w] : transfers) {
            Job j{a, b, w, -1,
                  std::make_unique<tlm_utils::simple_initiator_socket<Initiators>>(
                      sc_core::sc_gen_unique_name("socket"))};
            jobs.push_back(std::move(j));
        }
        for (std::size_t i = 0; i < jobs.size(); ++i)
            sc_core::sc_spawn(sc_bind(&Initiators::go, this, i));
    }
    void go(std::size_t i) {
        Job& j = jobs[i];
        dram_transfer(*j.socket, j.addr, j.bytes, j.write);
        j.done_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
    }
};

std::vector<double> run_jobs(const DramSpec& spec,
                             std::vector<std::tuple<uint64_t, uint64_t, bool>> transfers) {
    SimulationContext context;
    auto* dram = make_owned<Dram>("dram", spec);
    auto* ini = make_owned<Initiators>("ini", transfers);
    for (auto& j : ini->jobs) j.socket->bind(dram->socket);
    context.run();
    std::vector<double> out;
    for (auto& j : ini->jobs) out.push_back(j.done_ns);
    return out;
}

}  // namespace

TEST_CASE("dram: consecutive chunks interleave over the channels", "[dram]") {
    // 512 B = 8 bursts. One channel: ACT 0, column 10, data 20 .. 20 + 7 * 5 + 5 = 60. Two
    // channels (256 B interleave): 4 bursts on each, in parallel: data 20 .. 40.
    CHECK(run_jobs(test_spec(1), {{0, 512, false}})[0] == Approx(60));
    CHECK(run_jobs(test_spec(2), {{0, 512, false}})[0] == Approx(40));
}

TEST_CASE("dram: the controller serves a later row hit before an older conflict (FR-FCFS)",
          "[dram]") {
    // A (bank 0 row 0), B (bank 0 row 1: a stripe of 8 banks x 2 KiB = 16 KiB on), C (row 0
    // again), all arriving at 0 in that order. A: ACT 0, data 20 .. 25; at the next decision
    // (10) C hits the open row: column 15, data 25 .. 30; B then waits for the PRE (tRAS = 30),
    // ACT 40, column 50, data 60 .. 65. First-come-first-served would finish C last.
    const auto done = run_jobs(test_spec(1), {{0, 64, false}, {16384, 64, false}, {64, 64, false}});
    CHECK(done[0] == Approx(25));
    CHECK(done[2] == Approx(30));
    CHECK(done[1] == Approx(65));
}

namespace {

struct Streamer : sc_core::sc_module {
    SC_HAS_PROCESS(Streamer);
    DmaEngine dma;
    uint64_t bytes;
    double sent_ns = 0, done_ns = 0;  // every request sent; the last byte moved
    Streamer(sc_core::sc_module_name n, const DmaConfig& c, uint64_t b)
        : sc_module(n), dma("dma", c), bytes(b) {
        SC_THREAD(go);
    }
    void go() {
        const DmaHandle t = dma.issue(0, bytes, false);
        sent_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
        t->wait();
        done_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
    }
};

}  // namespace

TEST_CASE("dram: a sequential stream reaches the peak less refresh", "[dram]") {
    // 256 KiB read by a DMA engine with 16 requests of 256 B in flight (far more than the
    // 10 + 10 + 20 ns a request needs at 12.8 B/ns), refreshing every tREFI = 1000 ns for tRFC
    // = 50. Between refreshes the bus never idles: a new row's ACT goes as soon as its request has
    // arrived, under the previous row's data. Each refresh costs its tRFC plus, at most, the PRE
    // of the open row (tRTP + tRP = 17.5) and the next row's tRCD + tCL = 20:
    //   peak * (1 - 87.5 / 1000) <= sustained <= peak * (1 - 50 / 1000)
    DramSpec d = test_spec(1);
    d.timing.tREFI = 1000;
    d.timing.tRFC = 50;
    SimulationContext context;
    auto* dram = make_owned<Dram>("dram", d);
    DmaConfig c;
    c.request_bytes = 256;
    c.outstanding = 16;
    c.bytes_per_cycle = 64;
    c.cycle_ns = 1;
    const uint64_t bytes = 256 * 1024;
    auto* s = make_owned<Streamer>("s", c, bytes);
    s->dma.socket.bind(dram->socket);
    context.run();
    const double sustained = static_cast<double>(bytes) / s->done_ns;
    CHECK(sustained >= 12.8 * (1 - 87.5 / 1000));
    CHECK(sustained <= 12.8 * (1 - 50.0 / 1000));
    CHECK(dram->totals().refreshes >= static_cast<uint64_t>(s->done_ns / 1000) - 1);
}

namespace {

DramSpec simple_spec(double gbps, double latency_ns) {
    DramSpec d = test_spec(1);
    d.impl = "simple";
    d.bandwidth_gbps = gbps;
    d.latency_ns = latency_ns;
    return d;
}

double stream_ns(const DramSpec& d, const DmaConfig& c, uint64_t bytes) {
    SimulationContext context;
    auto* dram = make_owned<Dram>("dram", d);
    auto* s = make_owned<Streamer>("s", c, bytes);
    s->dma.socket.bind(dram->socket);
    context.run();
    return s->done_ns;
}

}  // namespace

TEST_CASE("dma: the outstanding window covers the memory's latency or the stream waits for it",
          "[dram][dma]") {
    // Memory: one pipe at 1 B/ns with 100 ns of latency. Requests of 64 B; the engine sends one
    // per cycle of 1 ns (64 B a cycle), so it never limits.
    const DramSpec d = simple_spec(1, 100);
    DmaConfig c;
    c.request_bytes = 64;
    c.bytes_per_cycle = 64;
    c.cycle_ns = 1;
    // One request in flight: each pays 64 ns of data and 100 of latency before the next is sent:
    // 10 requests = 10 x 164 = 1640 ns.
    c.outstanding = 1;
    CHECK(stream_ns(d, c, 640) == Approx(1640));
    // Four in flight: the pipe never idles after the first arrives; the last data ends at
    // 640 ns and its reply comes 100 ns later: 740 ns.
    c.outstanding = 4;
    CHECK(stream_ns(d, c, 640) == Approx(740));
    // The engine's own interface at 16 B a cycle paces a request every 4 ns, still faster than
    // the memory: unchanged.
    c.bytes_per_cycle = 16;
    CHECK(stream_ns(d, c, 640) == Approx(740));
}

TEST_CASE("dma: a full controller queue holds the engine back (END_REQ)", "[dram][dma]") {
    // Memory: 1 B/ns, no latency; 8 requests of 64 B, all allowed in flight, sent one a cycle.
    // The controller takes request 1 at 0 and is busy until 64; requests 2 and 3 fill a queue of
    // 2, and request k >= 4 is accepted only when request k - 2 leaves the queue for service, at
    // (k - 3) x 64: the engine has sent its last request at 5 x 64 = 320 ns. With a deep queue it
    // has sent all eight by 8 ns (a cycle each). The data streams back to back either way: 512 ns.
    DramSpec d = simple_spec(1, 0);
    DmaConfig c;
    c.request_bytes = 64;
    c.outstanding = 8;
    c.bytes_per_cycle = 64;
    c.cycle_ns = 1;
    for (const int64_t depth : {2, 64}) {
        d.queue_depth = depth;
        SimulationContext context;
        auto* dram = make_owned<Dram>("dram", d);
        auto* s = make_owned<Streamer>("s", c, 512);
        s->dma.socket.bind(dram->socket);
        context.run();
        CHECK(s->done_ns == Approx(512));
        CHECK(s->sent_ns == Approx(depth == 2 ? 320 : 8));
    }
}

namespace {

struct TwoEngines : sc_core::sc_module {
    SC_HAS_PROCESS(TwoEngines);
    DmaEngine a, b;
    MemoryPort port;
    double a_done = 0, b_done = 0;
    TwoEngines(sc_core::sc_module_name n, const DmaConfig& c, double port_bytes_per_cycle)
        : sc_module(n), a("a", c), b("b", c), port("port", port_bytes_per_cycle, 1.0) {
        a.socket.bind(port.clients);
        b.socket.bind(port.clients);
        SC_THREAD(run_a);
        SC_THREAD(run_b);
    }
    void run_a() {
        a.transfer(0, 1024, false);
        a_done = sc_core::sc_time_stamp().to_seconds() * 1e9;
    }
    void run_b() {
        b.transfer(1 << 20, 1024, false);
        b_done = sc_core::sc_time_stamp().to_seconds() * 1e9;
    }
};

}  // namespace

TEST_CASE("dma: engines share a memory port's data channel", "[dram][dma]") {
    // Memory: 8 B/ns, no latency. Two engines each read 1024 B in 256 B requests with 4 in
    // flight, through a port of 2 B per 1 ns cycle: the port, narrower than the memory, carries
    // 2048 B in 1024 ns, and the two streams, interleaved, both end at the port's pace.
    DmaConfig c;
    c.request_bytes = 256;
    c.outstanding = 4;
    c.bytes_per_cycle = 64;
    c.cycle_ns = 1;
    SimulationContext context;
    auto* dram = make_owned<Dram>("dram", simple_spec(8, 0));
    auto* t = make_owned<TwoEngines>("t", c, 2);
    t->port.memory.bind(dram->socket);
    context.run();
    CHECK(std::max(t->a_done, t->b_done) == Approx(1024));
    CHECK(std::min(t->a_done, t->b_done) >= 1024 - 128 - 1e-6);  // the last request of the other
    CHECK(t->port.bytes() == 2048);
    // A port as wide as the memory's rate is invisible: 2048 B at 8 B/ns = 256 ns.
    SimulationContext context2;
    auto* dram2 = make_owned<Dram>("dram", simple_spec(8, 0));
    auto* t2 = make_owned<TwoEngines>("t", c, 8);
    t2->port.memory.bind(dram2->socket);
    context2.run();
    CHECK(std::max(t2->a_done, t2->b_done) == Approx(256));
}
