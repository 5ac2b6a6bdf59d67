// SimulationContext: one SystemC kernel per run, and the modules a run builds gone with it.
#include <catch2/catch.hpp>

#include <systemc>

#include "sim/error.h"
#include "sim/runtime/simulation_context.h"

using namespace xpusim::sim;

namespace {

// Counts the instances alive, and records the order they were destroyed in.
int g_alive = 0;
std::vector<std::string> g_destroyed;

struct Leaf : sc_core::sc_module {
    SC_HAS_PROCESS(Leaf);
    explicit Leaf(sc_core::sc_module_name name) : sc_module(name) {
        ++g_alive;
        SC_THREAD(run);
    }
    ~Leaf() override {
        --g_alive;
        g_destroyed.push_back(basename());
    }
    void run() {
        wait(5, sc_core::SC_NS);
        finished_at_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
        wait(done);  // never notified: the thread is still suspended when the run ends
    }
    sc_core::sc_event done;
    double finished_at_ns = -1;
};

// Builds a child in its constructor, as the targets' top modules do.
struct Parent : sc_core::sc_module {
    explicit Parent(sc_core::sc_module_name name) : sc_module(name) {
        ++g_alive;
        child = make_owned<Leaf>("child");
    }
    ~Parent() override {
        --g_alive;
        g_destroyed.push_back(basename());
    }
    Leaf* child;
};

}  // namespace

TEST_CASE("a simulation context deletes the modules and channels built in it", "[runtime]") {
    g_alive = 0;
    g_destroyed.clear();
    double finished = 0;
    {
        SimulationContext context;
        auto* parent = make_owned<Parent>("parent");
        make_owned<sc_core::sc_fifo<int>>("fifo", 2);
        CHECK(g_alive == 2);
        context.run();
        finished = parent->child->finished_at_ns;
    }
    CHECK(finished == 5);
    CHECK(g_alive == 0);
    // Newest first: the parent (adopted once its constructor, which built the child, returned)
    // goes before the child.
    CHECK(g_destroyed == std::vector<std::string>{"parent", "child"});

    // A second run in the same process elaborates afresh, under the same names.
    {
        SimulationContext context;
        make_owned<Parent>("parent");
        context.run();
        CHECK(g_alive == 2);
    }
    CHECK(g_alive == 0);
}

TEST_CASE("a module built outside a simulation context is an error", "[runtime]") {
    CHECK_THROWS_AS(make_owned<Leaf>("orphan"), Error);
}
