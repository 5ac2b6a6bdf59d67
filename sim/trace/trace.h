// Chrome trace-event JSON (the format Perfetto and chrome://tracing open): one process per
// chip, one thread track per hardware unit, a complete ("X") event per instruction or tile,
// and counter ("C") tracks for bandwidth. Times are recorded in cycles and written in
// microseconds at the chip's clock.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xpusim::sim {

class TraceLog {
  public:
    /// @brief `clock_hz` converts cycles to microseconds when written; 0 means the times are
    /// already in nanoseconds (host wall-clock traces).
    explicit TraceLog(double clock_hz = 0.0) : m_clock_hz(clock_hz) {}

    void set_clock_hz(double hz) { m_clock_hz = hz; }
    /// @brief A process (one chip). Returns its pid.
    int add_process(const std::string& name);
    /// @brief A track (one unit) in a process. Returns its tid.
    int add_track(int pid, const std::string& name);
    /// @brief A complete event: [start, start + duration) in cycles.
    void complete(int pid, int tid, const std::string& name, uint64_t start, uint64_t duration,
                  nlohmann::json args = {});
    /// @brief A counter sample: the value holds from `time` on.
    void counter(int pid, const std::string& name, uint64_t time, double value);

    std::size_t num_events() const { return m_events.size(); }
    /// @brief The whole trace: {"traceEvents": [...], "displayTimeUnit": "ns"}.
    nlohmann::json to_json() const;
    /// @brief The metadata events (process and track names, track order) to_json() starts with.
    nlohmann::json to_json_metadata() const;
    void write(const std::string& path) const;

  private:
    struct Event {
        char phase;  // 'X' or 'C'
        int pid, tid;
        std::string name;
        uint64_t start, duration;
        double value;
        nlohmann::json args;
    };
    double to_us(uint64_t t) const;

    double m_clock_hz;
    std::vector<std::pair<int, std::string>> m_processes;
    std::vector<std::tuple<int, int, std::string>> m_tracks;
    std::vector<Event> m_events;
};

}  // namespace xpusim::sim
