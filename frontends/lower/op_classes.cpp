#include "frontends/lower/op_classes.h"

#include <map>
#include <set>

namespace xpusim::lower {

bool is_view_op(const frontend::Node& node) {
    const std::string& t = node.op_type;
    if (t == "Dropout") return node.num_outputs_given() <= 1;
    return t == "Reshape" || t == "Flatten" || t == "Squeeze" || t == "Unsqueeze" ||
           t == "Identity";
}

bool is_data_movement(const std::string& op_type) {
    static const std::set<std::string> ops = {"Transpose",    "Concat",
                                              "Split",        "Slice",
                                              "Gather",       "GatherElements",
                                              "GatherND",     "Pad",
                                              "Expand",       "Tile",
                                              "Cast",         "DepthToSpace",
                                              "SpaceToDepth", "ScatterElements",
                                              "ScatterND",    "ReverseSequence",
                                              "Compress"};
    return ops.count(op_type) != 0;
}

std::optional<int64_t> vector_ops_per_element(const std::string& op_type) {
    static const std::map<std::string, int64_t> ops = {
        {"Add", 1},
        {"Sub", 1},
        {"Mul", 1},
        {"Div", 4},
        {"Max", 1},
        {"Min", 1},
        {"Sum", 1},
        {"Mean", 2},
        {"Relu", 1},
        {"LeakyRelu", 2},
        {"Clip", 1},
        {"Neg", 1},
        {"Abs", 1},
        {"Where", 1},
        {"Equal", 1},
        {"Less", 1},
        {"Greater", 1},
        {"LessOrEqual", 1},
        {"GreaterOrEqual", 1},
        {"Not", 1},
        {"And", 1},
        {"Or", 1},
        {"Xor", 1},
        {"PRelu", 2},
        {"IsNaN", 1},
        {"IsInf", 1},
        {"Sign", 1},
        {"Floor", 1},
        {"Ceil", 1},
        {"Round", 1},
        {"Sigmoid", 4},
        {"Tanh", 4},
        {"Erf", 4},
        {"Exp", 4},
        {"Log", 4},
        {"Sqrt", 4},
        {"Reciprocal", 4},
        {"Pow", 4},
        {"Sin", 4},
        {"Cos", 4},
        {"Tan", 4},
        {"Asin", 4},
        {"Acos", 4},
        {"Atan", 4},
        {"Sinh", 4},
        {"Cosh", 4},
        {"Asinh", 4},
        {"Acosh", 4},
        {"Atanh", 4},
        {"Elu", 4},
        {"Selu", 4},
        {"Celu", 4},
        {"Gelu", 6},
        {"Mish", 8},
        {"HardSigmoid", 2},
        {"HardSwish", 3},
        {"Softplus", 4},
        {"Softsign", 4},
        {"ThresholdedRelu", 1},
        {"Shrink", 2},
        {"BitShift", 1},
        {"Softmax", 5},
        {"LogSoftmax", 6},
        {"LayerNormalization", 8},
        {"BatchNormalization", 2},
        {"InstanceNormalization", 6},
        {"GroupNormalization", 8},
        {"LpNormalization", 4},
        {"MeanVarianceNormalization", 6},
        {"LRN", 6},
        {"ReduceMean", 1},
        {"ReduceSum", 1},
        {"ReduceMax", 1},
        {"ReduceMin", 1},
        {"ReduceProd", 1},
        {"ReduceL1", 2},
        {"ReduceL2", 2},
        {"ReduceSumSquare", 2},
        {"ReduceLogSumExp", 6},
        {"ArgMax", 1},
        {"ArgMin", 1},
        {"CumSum", 1},
        {"GlobalAveragePool", 1},
        {"GlobalMaxPool", 1},
        {"MaxPool", 1},
        {"AveragePool", 1},
        {"LpPool", 2},
        {"Resize", 2},
        {"Upsample", 2},
        // Data movement: one element per lane and cycle.
        {"Transpose", 1},
        {"Concat", 1},
        {"Split", 1},
        {"Slice", 1},
        {"Gather", 1},
        {"Pad", 1},
        {"Expand", 1},
        {"Tile", 1},
        {"Cast", 1},
        {"DepthToSpace", 1},
        {"SpaceToDepth", 1},
    };
    auto it = ops.find(op_type);
    if (it == ops.end()) return std::nullopt;
    return it->second;
}

double vector_elements(const frontend::Graph& g, const frontend::Node& n) {
    auto numel = [&](const std::string& v) {
        return v.empty() ? 0.0 : static_cast<double>(sim::shape_numel(g.value(v).shape));
    };
    const std::string& t = n.op_type;
    if (t == "MaxPool" || t == "AveragePool" || t == "LpPool") {
        double window = 1;
        for (int64_t k : n.attr_ints("kernel_shape")) window *= static_cast<double>(k);
        return numel(n.outputs[0]) * window;
    }
    if (t.rfind("Reduce", 0) == 0 || t.rfind("Global", 0) == 0 || t == "Softmax" ||
        t == "LogSoftmax" || t.find("Normalization") != std::string::npos || t == "ArgMax" ||
        t == "ArgMin" || t == "LRN" || t == "CumSum")
        return numel(n.inputs[0]);
    double total = 0;
    for (const auto& o : n.outputs) total += numel(o);
    return total;
}

}  // namespace xpusim::lower
