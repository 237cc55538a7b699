// lgn-hw native verification harness: drives a Verilator model of an lgn-hw core
// (DESIGN.md section 3 ports) from files the golden model wrote and checks every result.
//
// Built by lgn_hw.verify.native with
//   verilator --cc --exe --build --prefix Vtop --top-module <top> <sources> lgn_native.cpp
// so the model class is always Vtop whatever the top module is called; the port widths
// come from the command line (the manifest), and the harness checks that the model's
// port storage fits them.
//
// Usage: lgn_native key=value ...   (see struct Config; unknown keys are an error)
//   inputs    file of samples, each ceil(in_width/32) little-endian uint32 words (in_data)
//   expected  file of results, each ceil((class_width + num_classes*score_width)/32) little-endian
//             uint32 words of {out_scores, out_class}: the class in bits [0, class_width), class c's
//             score at [class_width + c*score_width, +score_width) (lgn_hw.hdl.export.result_bits,
//             the layout of the plain testbench's tb_expected.hex)
//   summary   JSON file written at the end: one object per test
//   classes   (optional) file of the out_class of every result of the first pattern, uint32
//
// Tests, in order (each pattern starts from a reset):
//   idle_after_reset     out_valid stays low for latency + 16 cycles while nothing is sent
//   full_throughput      no gaps, out_ready high: one sample per clock, each result exactly
//                        `latency` cycles after its sample was accepted
//   random_gaps          in_valid low with chance gap_prob per cycle, out_ready high
//   random_backpressure  no gaps, out_ready low with chance stall_prob per cycle
//   stream_random        both
// Every pattern streams every sample and checks every class and score in order against the
// expected file; counts in must equal counts out (nothing lost, nothing duplicated).
//
// Timing: each cycle the harness sets the inputs with clk low, evaluates, samples the
// outputs (what the coming rising edge sees), then raises clk and evaluates. A transfer is
// recorded on the cycle of the edge it happens at, as the cocotb bench (sim/lgn_tb.py) does.
// Messages have the cocotb bench's wording, so a failure reads the same on both paths.

#include "Vtop.h"
#include "verilated.h"

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

struct Config {
    std::string inputs, expected, summary, classes;
    std::string patterns = "full_throughput,random_gaps,random_backpressure,stream_random";
    long long samples = 0;
    int in_width = 0, num_classes = 0, score_width = 0, class_width = 0;
    long long latency = -1;          // the manifest's; -1: unknown (no latency check)
    unsigned long long seed = 0;
    double gap_prob = 0.3, stall_prob = 0.3;
    long long stall_timeout = 0;     // 0: derived as in the cocotb bench
    int reset_cycles = 4;
    int max_reports = 10;
    int max_errors = 100;
    int threads = 1;                 // patterns run in parallel, each on its own model
};

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "lgn_native: %s\n", msg.c_str());
    std::exit(2);
}

long long to_int(const std::string& key, const std::string& v) {
    char* end = nullptr;
    long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end) die(key + " must be an integer, not '" + v + "'");
    return x;
}

double to_double(const std::string& key, const std::string& v) {
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end) die(key + " must be a number, not '" + v + "'");
    return x;
}

Config parse(int argc, char** argv) {
    Config c;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (!arg.empty() && arg[0] == '+') continue;  // Verilator plusargs
        size_t eq = arg.find('=');
        if (eq == std::string::npos) die("arguments are key=value, not '" + arg + "'");
        std::string k = arg.substr(0, eq), v = arg.substr(eq + 1);
        if (k == "inputs") c.inputs = v;
        else if (k == "expected") c.expected = v;
        else if (k == "summary") c.summary = v;
        else if (k == "classes") c.classes = v;
        else if (k == "patterns") c.patterns = v;
        else if (k == "samples") c.samples = to_int(k, v);
        else if (k == "in_width") c.in_width = int(to_int(k, v));
        else if (k == "num_classes") c.num_classes = int(to_int(k, v));
        else if (k == "score_width") c.score_width = int(to_int(k, v));
        else if (k == "class_width") c.class_width = int(to_int(k, v));
        else if (k == "latency") c.latency = to_int(k, v);
        else if (k == "seed") c.seed = (unsigned long long)to_int(k, v);
        else if (k == "gap_prob") c.gap_prob = to_double(k, v);
        else if (k == "stall_prob") c.stall_prob = to_double(k, v);
        else if (k == "stall_timeout") c.stall_timeout = to_int(k, v);
        else if (k == "reset_cycles") c.reset_cycles = int(to_int(k, v));
        else if (k == "max_reports") c.max_reports = int(to_int(k, v));
        else if (k == "threads") c.threads = int(to_int(k, v));
        else die("unknown setting '" + k + "'");
    }
    if (c.inputs.empty() || c.expected.empty()) die("inputs= and expected= are required");
    if (c.samples < 1) die("samples must be at least 1");
    if (c.in_width < 1 || c.num_classes < 1 || c.score_width < 1 || c.class_width < 1)
        die("in_width, num_classes, score_width and class_width must be positive");
    if (c.class_width > 32) die("class_width must be at most 32");
    if (c.score_width > 64) die("score_width must be at most 64");
    if (c.threads < 1) die("threads must be at least 1");
    if (!(c.gap_prob >= 0 && c.gap_prob < 1) || !(c.stall_prob >= 0 && c.stall_prob < 1))
        die("gap_prob and stall_prob must be in [0, 1)");
    return c;
}

// -- ports of any width: Verilator stores <= 8 bits as CData, <= 16 SData, <= 32 IData,
//    <= 64 QData, wider as VlWide<ceil(w/32)>; these read and write them as uint32 words.

template <typename T>
int storage_bits(const T&) { return int(8 * sizeof(T)); }
template <std::size_t N>
int storage_bits(const VlWide<N>&) { return int(32 * N); }

int expected_storage(int width) {
    if (width <= 8) return 8;
    if (width <= 16) return 16;
    if (width <= 32) return 32;
    if (width <= 64) return 64;
    return 32 * ((width + 31) / 32);
}

template <typename T>
void put(T& port, const uint32_t* w, int nwords) {
    uint64_t v = w[0];
    if (nwords > 1) v |= uint64_t(w[1]) << 32;
    port = T(v);
}
template <std::size_t N>
void put(VlWide<N>& port, const uint32_t* w, int nwords) {
    for (std::size_t i = 0; i < N; ++i) port[i] = int(i) < nwords ? w[i] : 0;
}

template <typename T>
void get(const T& port, uint32_t* w, int nwords) {
    uint64_t v = uint64_t(port);
    w[0] = uint32_t(v);
    if (nwords > 1) w[1] = uint32_t(v >> 32);
}
template <std::size_t N>
void get(const VlWide<N>& port, uint32_t* w, int nwords) {
    for (int i = 0; i < nwords; ++i) w[i] = port[i];
}

template <typename T>
void check_port(const char* name, const T& port, int width) {
    if (storage_bits(port) != expected_storage(width)) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "port %s is stored in %d bits but must be %d bits wide: "
                      "is this core generated from this netlist?",
                      name, storage_bits(port), width);
        die(buf);
    }
}

// splitmix64: small, fast and the same on every platform
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
};

uint64_t fnv1a(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char ch : s) { h ^= ch; h *= 1099511628211ull; }
    return h;
}

std::vector<uint32_t> read_words(const std::string& path, size_t count) {
    std::vector<uint32_t> words(count);
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) die("cannot open " + path);
    size_t got = std::fread(words.data(), sizeof(uint32_t), count, f);
    bool extra = std::fgetc(f) != EOF;
    std::fclose(f);
    if (got != count || extra) die(path + ": size does not match samples and widths");
    return words;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char ch : s) {
        if (ch == '"' || ch == '\\') { out += '\\'; out += ch; }
        else if (ch == '\n') out += "\\n";
        else if ((unsigned char)ch < 0x20) out += ' ';
        else out += ch;
    }
    return out;
}

struct Stats {
    std::string test;
    long long samples = 0, accepted = 0, results = 0;
    long long cycles = 0, total_cycles = 0;    // cycles: first result to last, inclusive
    long long mismatches = 0;
    long long latency_min = -1, latency_max = -1;
    long long error_count = 0;
    double seconds = 0;                         // wall time of the test
    std::vector<std::string> errors;            // the first 20 contract breaks
    std::vector<std::string> messages;          // the first mismatches, in full
    std::string first_failure() const {
        if (!messages.empty()) return messages[0];
        return errors.empty() ? std::string() : errors[0];
    }
    bool failed() const { return mismatches || error_count; }
};

// The model's port storage must fit the widths the caller gave (before any file is read).
void check_ports(const Config& cfg) {
    VerilatedContext ctx;
    Vtop top{&ctx};
    check_port("in_data", top.in_data, cfg.in_width);
    check_port("out_class", top.out_class, cfg.class_width);
    check_port("out_scores", top.out_scores, cfg.num_classes * cfg.score_width);
}

// Or the low `bits` bits of `src` into `dst` at bit `pos` (dst zeroed by the caller).
void insert_bits(uint32_t* dst, int pos, const uint32_t* src, int bits) {
    for (int i = 0; 32 * i < bits; ++i) {
        uint32_t v = src[i];
        const int left = bits - 32 * i;
        if (left < 32) v &= (uint32_t(1) << left) - 1;
        const int at = pos + 32 * i;
        dst[at / 32] |= v << (at % 32);
        if (at % 32 && v >> (32 - at % 32)) dst[at / 32 + 1] |= v >> (32 - at % 32);
    }
}

// The samples and expected results, read once and shared (read-only) by every model.
struct Vectors {
    int in_words, score_bits, score_words, out_words;
    std::vector<uint32_t> inputs, expected;
    explicit Vectors(const Config& cfg)
        : in_words((cfg.in_width + 31) / 32), score_bits(cfg.num_classes * cfg.score_width),
          score_words((score_bits + 31) / 32),
          out_words((cfg.class_width + score_bits + 31) / 32),
          inputs(read_words(cfg.inputs, size_t(cfg.samples) * in_words)),
          expected(read_words(cfg.expected, size_t(cfg.samples) * out_words)) {}
};

// One model (its own VerilatedContext, so that models may run on different threads).
class Harness {
public:
    Harness(const Config& cfg, const Vectors& vec, int argc, char** argv)
        : cfg_(cfg), ctx_(new VerilatedContext), top_(nullptr),
          inputs_(vec.inputs), expected_(vec.expected) {
        ctx_->commandArgs(argc, argv);
        top_.reset(new Vtop{ctx_.get()});
        in_words_ = vec.in_words;
        score_bits_ = vec.score_bits;
        score_words_ = vec.score_words;
        out_words_ = vec.out_words;
        n_ = cfg.samples;
        accept_cycle_.resize(size_t(n_));
        got_.resize(size_t(out_words_));
        scores_.resize(size_t(score_words_));
    }

    ~Harness() { top_->final(); }

    Stats idle_after_reset() {
        Stats st;
        st.test = "idle_after_reset";
        reset();
        top_->out_ready = 1;
        long long span = (cfg_.latency > 0 ? cfg_.latency : 0) + 16;
        for (long long cycle = 0; cycle < span; ++cycle) {
            top_->eval();
            if (top_->out_valid) {
                error(st, "cycle " + std::to_string(cycle) + " after reset: out_valid is 1 "
                          "although no sample was sent");
                break;
            }
            tick();
        }
        st.total_cycles = span;
        return st;
    }

    Stats stream(const std::string& test, double gap_prob, double stall_prob, bool check_latency) {
        Stats st;
        st.test = test;
        st.samples = n_;
        Rng rng(fnv1a(std::to_string(cfg_.seed) + "/" + test));
        const long long latency = cfg_.latency;
        const long long drain = std::max<long long>(8, 2 * (latency > 0 ? latency : 0) + 8);
        const long long timeout = cfg_.stall_timeout > 0 ? cfg_.stall_timeout
                                                         : stall_timeout(gap_prob, stall_prob);
        reset();
        long long next = 0, out = 0, cycle = 0, idle = 0, after_done = 0;
        long long first = -1, first_out = -1, last = -1;
        bool presenting = false;
        while (true) {
            // drive (clk low), as StreamDriver.drive and Backpressure.drive
            if (!presenting) {
                if (next < n_ && (gap_prob == 0.0 || rng.uniform() >= gap_prob)) {
                    put(top_->in_data, &inputs_[size_t(next) * in_words_], in_words_);
                    top_->in_valid = 1;
                    presenting = true;
                } else {
                    top_->in_valid = 0;
                }
            }
            const bool out_ready = stall_prob == 0.0 || rng.uniform() >= stall_prob;
            top_->out_ready = out_ready;
            top_->eval();
            // sample what the coming rising edge sees
            const long long outstanding_before = next - out;
            bool moved = false;
            if (presenting && top_->in_ready) {
                accept_cycle_[size_t(next)] = cycle;
                ++next;
                presenting = false;
                moved = true;
                if (first < 0) first = cycle;
            }
            const bool done = next >= n_ && !presenting;
            if (check_latency && !moved && first >= 0 && !done)
                error(st, "cycle " + std::to_string(cycle) + ": in_ready is low with out_ready "
                          "held high and no gaps (sample " + std::to_string(next) +
                          "): the core does not take one sample per clock");
            if (top_->out_valid) {
                if (outstanding_before + moved <= 0) {
                    error(st, "cycle " + std::to_string(cycle) + ": out_valid is high but no "
                              "sample is in flight (" + std::to_string(out) + " results for " +
                              std::to_string(next) + " accepted samples)");
                } else if (out_ready) {
                    check(st, out, cycle);
                    ++out;
                    moved = true;
                    last = cycle;
                    if (first_out < 0) first_out = cycle;
                }
            }
            idle = moved ? 0 : idle + 1;
            tick();
            ++cycle;
            if (done && next == out) {
                if (++after_done > drain) break;
            } else if (idle > timeout) {
                error(st, "timeout: no transfer for " + std::to_string(idle) + " cycles; accepted " +
                          std::to_string(next) + " of " + std::to_string(n_) + " samples, got " +
                          std::to_string(out) + " results; in_ready=" +
                          std::to_string(int(top_->in_ready)) + " out_valid=" +
                          std::to_string(int(top_->out_valid)));
                break;
            }
            if (st.error_count > cfg_.max_errors) break;
        }
        top_->in_valid = 0;
        st.accepted = next;
        st.results = out;
        st.total_cycles = cycle;
        st.cycles = last >= 0 ? last - first_out + 1 : 0;
        if (check_latency && latency >= 0 && out > 0) {
            long long bad = 0, first_bad = -1, first_value = 0;
            for (long long i = 0; i < out; ++i) {
                long long l = latencies_at(i);
                if (l != latency) {
                    if (first_bad < 0) { first_bad = i; first_value = l; }
                    ++bad;
                }
            }
            if (bad)
                error(st, "sample " + std::to_string(first_bad) + ": result came " +
                          std::to_string(first_value) + " cycles after its sample was accepted, "
                          "the manifest says latency " + std::to_string(latency) + " (" +
                          std::to_string(bad) + " samples differ)");
        }
        if (out != n_ && st.error_count <= cfg_.max_errors)
            error(st, "expected exactly " + std::to_string(n_) + " results, got " +
                      std::to_string(out) + " (accepted " + std::to_string(next) + " samples)");
        return st;
    }

private:
    long long latencies_at(long long i) const { return result_cycle_[size_t(i)] - accept_cycle_[size_t(i)]; }

    void tick() {
        top_->clk = 1;
        top_->eval();
        top_->clk = 0;
    }

    void reset() {
        top_->clk = 0;
        top_->rst = 1;
        top_->in_valid = 0;
        top_->out_ready = 0;
        const std::vector<uint32_t> zeros(size_t(in_words_), 0);
        put(top_->in_data, zeros.data(), in_words_);
        for (int i = 0; i < cfg_.reset_cycles; ++i) {
            top_->eval();
            tick();
        }
        top_->rst = 0;
        result_cycle_.assign(size_t(n_), 0);
    }

    long long stall_timeout(double gap_prob, double stall_prob) const {
        double p = std::max(gap_prob, stall_prob);
        long long wait = p > 0 ? (long long)std::ceil(std::log(1e-9) / std::log(p)) : 1;
        return 100 + 4 * (cfg_.latency > 0 ? cfg_.latency : 0) + wait;
    }

    void error(Stats& st, const std::string& msg) {
        if (st.errors.size() < 20) st.errors.push_back(msg);
        if (st.error_count < cfg_.max_reports) std::fprintf(stderr, "%s: %s\n", st.test.c_str(), msg.c_str());
        ++st.error_count;
    }

    void check(Stats& st, long long index, long long cycle) {
        result_cycle_[size_t(index)] = cycle;
        if (record_classes_) classes_.push_back(uint32_t(top_->out_class));
        long long lat = cycle - accept_cycle_[size_t(index)];
        if (st.latency_min < 0 || lat < st.latency_min) st.latency_min = lat;
        if (lat > st.latency_max) st.latency_max = lat;
        std::fill(got_.begin(), got_.end(), 0u);
        const uint32_t cls = uint32_t(top_->out_class);
        insert_bits(got_.data(), 0, &cls, cfg_.class_width);
        get(top_->out_scores, scores_.data(), score_words_);
        insert_bits(got_.data(), cfg_.class_width, scores_.data(), score_bits_);
        const uint32_t* want = &expected_[size_t(index) * out_words_];
        if (std::memcmp(got_.data(), want, sizeof(uint32_t) * size_t(out_words_)) != 0) {
            ++st.mismatches;
            if (int(st.messages.size()) < cfg_.max_reports) {
                std::string msg = "sample " + std::to_string(index) + ": inputs " + hex(index) +
                                  ": expected " + show(want) + ", got " + show(got_.data());
                std::fprintf(stderr, "%s: mismatch: %s\n", st.test.c_str(), msg.c_str());
                st.messages.push_back(msg);
            }
        }
    }

    // "0x..." with ceil(in_width / 4) digits, as Model.hex in sim/lgn_tb.py
    std::string hex(long long index) const {
        const uint32_t* w = &inputs_[size_t(index) * in_words_];
        int digits = std::max(1, (cfg_.in_width + 3) / 4);
        std::string s = "0x";
        for (int d = digits - 1; d >= 0; --d) {
            uint32_t nib = (w[d / 8] >> (4 * (d % 8))) & 0xF;
            s += "0123456789abcdef"[nib];
        }
        return s;
    }

    // bits [pos, pos + width) of a result (width <= 64)
    static uint64_t field(const uint32_t* words, int pos, int width) {
        uint64_t v = 0;
        for (int b = 0; b < width; ++b)
            v |= uint64_t((words[(pos + b) / 32] >> ((pos + b) % 32)) & 1u) << b;
        return v;
    }

    // "class C scores [s0, s1, ...]", as _show in sim/lgn_tb.py
    std::string show(const uint32_t* words) const {
        std::string s = "class " + std::to_string(field(words, 0, cfg_.class_width)) + " scores [";
        for (int c = 0; c < cfg_.num_classes; ++c) {
            if (c) s += ", ";
            s += std::to_string(field(words, cfg_.class_width + c * cfg_.score_width, cfg_.score_width));
        }
        return s + "]";
    }

    Config cfg_;
    std::unique_ptr<VerilatedContext> ctx_;
    std::unique_ptr<Vtop> top_;
    int in_words_ = 0, score_bits_ = 0, score_words_ = 0, out_words_ = 0;
    long long n_ = 0;
    const std::vector<uint32_t>& inputs_;
    const std::vector<uint32_t>& expected_;
    std::vector<uint32_t> got_, scores_;
    std::vector<long long> accept_cycle_, result_cycle_;

public:
    bool record_classes_ = false;
    std::vector<uint32_t> classes_;      // out_class of each result, in order, while recording
};

void write_summary(const std::string& path, const std::vector<Stats>& all) {
    FILE* f = path.empty() ? stdout : std::fopen((path + ".tmp").c_str(), "w");
    if (!f) die("cannot write " + path);
    std::fprintf(f, "{\n");
    for (size_t t = 0; t < all.size(); ++t) {
        const Stats& s = all[t];
        std::fprintf(f, " \"%s\": {\"test\": \"%s\", \"samples\": %lld, \"accepted\": %lld, "
                        "\"results\": %lld, \"cycles\": %lld, \"total_cycles\": %lld, "
                        "\"mismatches\": %lld, \"error_count\": %lld, \"throughput\": %.6f, "
                        "\"seconds\": %.6f, ",
                     s.test.c_str(), s.test.c_str(), s.samples, s.accepted, s.results, s.cycles,
                     s.total_cycles, s.mismatches, s.error_count,
                     s.cycles ? double(s.results) / double(s.cycles) : 0.0, s.seconds);
        if (s.latency_min >= 0)
            std::fprintf(f, "\"latency_min\": %lld, \"latency_max\": %lld, ", s.latency_min, s.latency_max);
        else
            std::fprintf(f, "\"latency_min\": null, \"latency_max\": null, ");
        std::string first = s.first_failure();
        if (first.empty()) std::fprintf(f, "\"first_failure\": null, ");
        else std::fprintf(f, "\"first_failure\": \"%s\", ", json_escape(first).c_str());
        std::fprintf(f, "\"errors\": [");
        for (size_t i = 0; i < s.errors.size(); ++i)
            std::fprintf(f, "%s\"%s\"", i ? ", " : "", json_escape(s.errors[i]).c_str());
        std::fprintf(f, "]}%s\n", t + 1 < all.size() ? "," : "");
    }
    std::fprintf(f, "}\n");
    if (f != stdout) {
        std::fclose(f);
        if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) die("cannot write " + path);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Config cfg = parse(argc, argv);
    std::vector<std::string> patterns;
    for (size_t pos = 0; pos <= cfg.patterns.size();) {
        size_t comma = cfg.patterns.find(',', pos);
        if (comma == std::string::npos) comma = cfg.patterns.size();
        std::string name = cfg.patterns.substr(pos, comma - pos);
        pos = comma + 1;
        if (name.empty()) continue;
        if (name != "full_throughput" && name != "random_gaps" && name != "random_backpressure" &&
            name != "stream_random")
            die("unknown pattern '" + name + "'");
        patterns.push_back(name);
    }
    check_ports(cfg);
    const Vectors vec(cfg);
    auto timed = [](auto&& run) {
        auto t0 = std::chrono::steady_clock::now();
        Stats st = run();
        st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return st;
    };
    // Each worker has its own model and takes the next pattern from a queue ordered by expected
    // cycles, longest first (a gap or a stall costs a cycle: 1 / (1 - p) cycles per sample each),
    // so that the workers finish together. Worker 0 also runs the idle check first; the pattern
    // listed first records the classes. Results are kept in pattern order, and each pattern starts
    // from a reset with its own seeded generator: which worker runs it does not change a cycle.
    const int workers = int(std::min<size_t>(size_t(cfg.threads), std::max<size_t>(1, patterns.size())));
    std::vector<Stats> results(patterns.size());
    std::vector<size_t> order(patterns.size());
    auto cost = [&](const std::string& name) {
        const double g = (name == "random_gaps" || name == "stream_random") ? cfg.gap_prob : 0.0;
        const double st = (name == "random_backpressure" || name == "stream_random") ? cfg.stall_prob : 0.0;
        return 1.0 / ((1.0 - g) * (1.0 - st));
    };
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return cost(patterns[a]) > cost(patterns[b]); });
    std::atomic<size_t> next{0};
    Stats idle;
    std::vector<uint32_t> classes;
    auto work = [&](int w) {
        Harness h(cfg, vec, argc, argv);
        if (w == 0) idle = timed([&] { return h.idle_after_reset(); });
        for (size_t k; (k = next.fetch_add(1)) < order.size();) {
            const size_t i = order[k];
            const std::string& name = patterns[i];
            const bool gaps = name == "random_gaps" || name == "stream_random";
            const bool stalls = name == "random_backpressure" || name == "stream_random";
            h.record_classes_ = !cfg.classes.empty() && i == 0;
            results[i] = timed([&] {
                return h.stream(name, gaps ? cfg.gap_prob : 0.0, stalls ? cfg.stall_prob : 0.0,
                                name == "full_throughput");
            });
            if (i == 0) classes.swap(h.classes_);
        }
    };
    std::vector<std::thread> pool;
    for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
    work(0);
    for (std::thread& t : pool) t.join();
    if (!cfg.classes.empty()) {
        FILE* f = std::fopen(cfg.classes.c_str(), "wb");
        if (!f) die("cannot write " + cfg.classes);
        std::fwrite(classes.data(), sizeof(uint32_t), classes.size(), f);
        std::fclose(f);
    }
    std::vector<Stats> all{idle};
    all.insert(all.end(), results.begin(), results.end());
    write_summary(cfg.summary, all);
    bool failed = false;
    for (const Stats& s : all) failed = failed || s.failed();
    return failed ? 1 : 0;
}
