// The off-chip memory block every target declares under `dram.` (or `hbm.`): its organisation,
// its JEDEC-style timings and the implementation that times it. Interface presets (DDR3, DDR4,
// LPDDR4/5, HBM2/2e, HBM3/3e) are YAML files in configs/memory/, used as `dram: {preset:
// hbm2_2400, ...}`, each number with its source.
//
// The peak bandwidth is the configured `bandwidth_gbps` (what a design sweeps); with the
// organisation it sets each channel's transfer rate: a burst of burst_bytes() takes
//   t_burst = burst_bytes / (bandwidth / channels)
// Timings are in ns, so that a preset holds at any speed grade the sweep picks.
#pragma once

#include <cstdint>
#include <string>

namespace xpusim::sim {

/// JEDEC timing parameters, in ns (a preset's comments give them in clocks and their source).
struct DramTimings {
    double tRCD = 13.75;   // ACT to column command
    double tRP = 13.75;    // PRE to ACT (same bank)
    double tCL = 13.75;    // read column command to first data (CAS latency)
    double tCWL = 10;      // write column command to first data
    double tRAS = 35;      // ACT to PRE (same bank)
    double tRC = 48.75;    // ACT to ACT (same bank)
    double tRRD_S = 6.25;  // ACT to ACT, other bank group (or any bank without groups)
    double tRRD_L = 6.25;  // ACT to ACT, same bank group
    double tFAW = 30;      // window holding at most four ACTs
    double tCCD_S = 5;     // column to column, other bank group
    double tCCD_L = 5;     // column to column, same bank group
    double tWTR = 7.5;     // end of write data to a read command
    double tRTW = 5;       // read to write command turnaround beyond the burst
    double tWR = 15;       // end of write data to PRE
    double tRTP = 7.5;     // read command to PRE
    double tREFI = 7800;   // refresh interval (all-bank refresh, per channel)
    double tRFC = 260;     // refresh duration: every bank of the channel is blocked

    template <class V>
    void visit(V& v) {
        v.field("tRCD_ns", tRCD, "ns", "ACT to column command", {0, 1e4});
        v.field("tRP_ns", tRP, "ns", "PRE to ACT in one bank", {0, 1e4});
        v.field("tCL_ns", tCL, "ns", "read command to first data (CAS latency)", {0, 1e4});
        v.field("tCWL_ns", tCWL, "ns", "write command to first data", {0, 1e4});
        v.field("tRAS_ns", tRAS, "ns", "ACT to PRE in one bank", {0, 1e5});
        v.field("tRC_ns", tRC, "ns", "ACT to ACT in one bank", {0, 1e5});
        v.field("tRRD_S_ns", tRRD_S, "ns", "ACT to ACT in another bank group", {0, 1e4});
        v.field("tRRD_L_ns", tRRD_L, "ns", "ACT to ACT in the same bank group", {0, 1e4});
        v.field("tFAW_ns", tFAW, "ns", "rolling window of at most four ACTs", {0, 1e5});
        v.field("tCCD_S_ns", tCCD_S, "ns", "column to column in another bank group", {0, 1e4});
        v.field("tCCD_L_ns", tCCD_L, "ns", "column to column in the same bank group", {0, 1e4});
        v.field("tWTR_ns", tWTR, "ns", "end of write data to a read command", {0, 1e4});
        v.field("tRTW_ns", tRTW, "ns", "read to write turnaround beyond the read burst", {0, 1e4});
        v.field("tWR_ns", tWR, "ns", "end of write data to PRE", {0, 1e4});
        v.field("tRTP_ns", tRTP, "ns", "read command to PRE", {0, 1e4});
        v.field("tREFI_ns", tREFI, "ns", "refresh interval (0: no refresh)", {0, 1e9});
        v.field("tRFC_ns", tRFC, "ns", "all-bank refresh duration", {0, 1e6});
    }
};

struct DramSpec {
    std::string impl =
        "banked";                // banked (per-bank state, FR-FCFS) or simple (bandwidth + latency)
    double bandwidth_gbps = 34;  // peak over all channels, GB/s (1e9 B/s)
    int64_t channels = 2;        // independent channels (HBM: pseudo-channels)
    int64_t width_bits = 64;     // data bus width of one channel
    int64_t burst_length = 8;    // beats per burst
    int64_t bank_groups = 1;     // per channel (1: no bank groups)
    int64_t banks_per_group = 8;
    int64_t row_bytes = 8192;        // one bank's row (page), the channel's full width
    int64_t interleave_bytes = 256;  // consecutive bytes on one channel before the next
    int64_t queue_depth = 32;        // controller queue entries per channel
    double latency_ns = 10;          // controller, PHY and interconnect, on top of the DRAM timings
    int64_t capacity_mib = 8192;
    DramTimings timing;

    template <class V>
    void visit(V& v) {
        v.text("impl", impl,
               "timing model: banked (per-bank state, FR-FCFS controller) or simple (bandwidth + "
               "latency)",
               {"banked", "simple"});
        v.field("bandwidth_gbps", bandwidth_gbps, "GB/s", "peak bandwidth over all channels",
                {0.001, 1e6});
        v.field("channels", channels, "", "independent channels (HBM: pseudo-channels)", {1, 4096});
        v.field("width_bits", width_bits, "bits", "data bus width of one channel", {8, 4096});
        v.field("burst_length", burst_length, "beats", "data beats per burst", {1, 64});
        v.field("bank_groups", bank_groups, "", "bank groups per channel (1: none)", {1, 64});
        v.field("banks_per_group", banks_per_group, "", "banks in each bank group", {1, 256});
        v.field("row_bytes", row_bytes, "B", "row (page) of one bank, across the channel's width",
                {64, 1 << 20});
        v.field("interleave_bytes", interleave_bytes, "B",
                "consecutive bytes on one channel before the next", {16, 1 << 24});
        v.field("queue_depth", queue_depth, "requests", "controller queue entries per channel",
                {1, 1 << 16});
        v.field("latency_ns", latency_ns, "ns",
                "controller, PHY and interconnect latency beyond the DRAM timings", {0, 1e6});
        v.field("capacity_mib", capacity_mib, "MiB", "capacity", {1, double(int64_t{1} << 30)});
        v.group("timing", timing);
    }

    int64_t banks() const { return bank_groups * banks_per_group; }
    /// Bytes one burst moves on one channel.
    int64_t burst_bytes() const { return width_bits / 8 * burst_length; }
    double channel_bytes_per_ns() const { return bandwidth_gbps / static_cast<double>(channels); }
    /// @brief An idle read's latency to its first data: controller + ACT + CAS (the banked
    /// model) + one burst, the latency a streaming initiator covers with requests in flight.
    double access_latency_ns() const {
        return latency_ns + (impl == "simple" ? 0.0 : timing.tRCD + timing.tCL) + burst_ns();
    }
    /// @brief ns one burst occupies the data bus: burst_bytes / (bandwidth / channels).
    double burst_ns() const { return static_cast<double>(burst_bytes()) / channel_bytes_per_ns(); }
};

}  // namespace xpusim::sim
