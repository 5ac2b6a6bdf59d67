#include "sim/runtime/target_model.h"

namespace xpusim::sim {

const char* placement_name(Placement p) {
    switch (p) {
        case Placement::Native:
            return "native";
        case Placement::Lowered:
            return "lowered";
        case Placement::Host:
            return "host";
    }
    return "?";
}

Registry<TargetModelEntry>& target_models() {
    static Registry<TargetModelEntry> registry("target model");
    return registry;
}

Registry<ProgramReader>& program_readers() {
    static Registry<ProgramReader> registry("program reader");
    return registry;
}

}  // namespace xpusim::sim
