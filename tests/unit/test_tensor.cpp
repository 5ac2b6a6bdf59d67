// Tensor storage: what a new tensor holds whichever way its buffer came (fresh pages, a reused
// buffer of a freed tensor, the heap), and what an uninitialized one promises.
#include <catch2/catch.hpp>
#include <cstring>

#include "sim/tensor/tensor.h"

using namespace xpusim::sim;

namespace {
bool all_zero(const Tensor& t) {
    const auto* p = static_cast<const unsigned char*>(t.raw());
    for (std::size_t i = 0; i < t.nbytes(); ++i)
        if (p[i] != 0) return false;
    return true;
}
}  // namespace

TEST_CASE("A new tensor is zero-filled even in the buffer a freed tensor of its size left", "[tensor]") {
    // 4 MiB (pages of their own, which a freed tensor hands to the next of its size) and 4 KiB
    // (the heap); each dirtied through an uninitialized tensor, freed, then asked for again.
    for (const Shape shape : {Shape{1024, 1024}, Shape{32, 32}}) {
        INFO("shape " << shape_str(shape));
        for (int round = 0; round < 3; ++round) {
            {
                Tensor dirty = Tensor::uninitialized(DType::Float32, shape);
                std::memset(dirty.raw(), 0xA5, dirty.nbytes());
            }
            const Tensor clean(DType::Float32, shape);
            CHECK(all_zero(clean));
        }
    }
}

TEST_CASE("An uninitialized tensor holds what is written to it, as many as asked for", "[tensor]") {
    for (const Shape shape : {Shape{3, 1024, 1024}, Shape{7, 5}}) {
        Tensor t = Tensor::uninitialized(DType::Float32, shape);
        REQUIRE(t.shape() == shape);
        REQUIRE(t.nbytes() == static_cast<std::size_t>(shape_numel(shape)) * 4);
        float* p = t.data<float>();
        for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(i % 1000);
        const Tensor copy = t;  // copies share the buffer
        CHECK(copy.data<float>()[t.numel() - 1] == static_cast<float>((t.numel() - 1) % 1000));
        CHECK(copy.data<float>()[0] == 0.0f);
    }
}
