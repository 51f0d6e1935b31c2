// The Prometheus registry: metric values, families of label sets, and the 0.0.4 text rendering.
#include "metrics/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <stdexcept>
#include <variant>

namespace changefeed::metrics {

namespace {

enum class kind { counter, gauge, histogram };

std::string_view type_name(kind k) {
    switch (k) {
    case kind::counter:
        return "counter";
    case kind::gauge:
        return "gauge";
    case kind::histogram:
        return "histogram";
    }
    return "untyped";
}

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool valid_metric_name(std::string_view n) {
    if (n.empty() || !(is_name_start(n[0]) || n[0] == ':')) {
        return false;
    }
    return std::all_of(n.begin(), n.end(), [](char c) { return is_name_char(c) || c == ':'; });
}

bool valid_label_name(std::string_view n) {
    return !n.empty() && is_name_start(n[0]) && n.substr(0, 2) != "__" &&
           std::all_of(n.begin(), n.end(), is_name_char);
}

void add_double(std::atomic<double>& target, double amount) noexcept {
    double current = target.load(std::memory_order_relaxed);
    while (!target.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
    }
}

double call_reader(const std::function<double()>& read) {
    try {
        return read();
    } catch (...) {
        return std::nan("");
    }
}

// Integers as integers, others in their shortest round-trip form; +Inf, -Inf, NaN as Prometheus
// spells them.
void append_number(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[64];
    std::to_chars_result r{};
    if (v == std::trunc(v) && std::fabs(v) < 1e15) {
        r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    } else {
        r = std::to_chars(buf, buf + sizeof buf, v);
    }
    out.append(buf, r.ptr);
}

void append_label_value(std::string& out, std::string_view v) {
    for (char c : v) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
}

void append_help(std::string& out, std::string_view help) {
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

// `{a="x",b="y"}` plus an optional trailing `le`; nothing when there are no labels at all.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view le = {}) {
    if (names.empty() && le.empty()) {
        return;
    }
    out += '{';
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        out += names[i];
        out += "=\"";
        append_label_value(out, values[i]);
        out += '"';
    }
    if (!le.empty()) {
        if (!names.empty()) {
            out += ',';
        }
        out += "le=\"";
        out += le;
        out += '"';
    }
    out += '}';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const std::vector<std::string>& label_names,
                   const std::vector<std::string>& label_values, double value,
                   std::string_view le = {}) {
    out += name;
    out += suffix;
    append_labels(out, label_names, label_values, le);
    out += ' ';
    append_number(out, value);
    out += '\n';
}

std::vector<double> checked_bounds(std::vector<double> bounds) {
    if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) {
        bounds.pop_back();
    }
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
            throw std::invalid_argument("histogram buckets must be finite and strictly increasing");
        }
    }
    return bounds;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Values.

void detail::value_cell::set_function(std::function<double()> read) {
    std::lock_guard lock(read_mutex_);
    read_ = std::move(read);
}

double detail::value_cell::value() const {
    std::lock_guard lock(read_mutex_);
    return read_ ? call_reader(read_) : value_.load(std::memory_order_relaxed);
}

void detail::value_cell::add(double amount) noexcept { add_double(value_, amount); }
void detail::value_cell::store(double v) noexcept { value_.store(v, std::memory_order_relaxed); }

void counter::inc(double amount) noexcept {
    if (amount > 0) {
        add(amount);
    }
}

void gauge::set(double v) noexcept { store(v); }
void gauge::inc(double amount) noexcept { add(amount); }
void gauge::dec(double amount) noexcept { add(-amount); }

histogram::histogram(std::vector<double> bounds)
    : bounds_(checked_bounds(std::move(bounds))),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void histogram::observe(double v) noexcept {
    // NaN compares false with everything: it lands in +Inf.
    auto it = std::find_if(bounds_.begin(), bounds_.end(), [v](double b) { return v <= b; });
    counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
    add_double(sum_, v);
}

histogram::snapshot histogram::read() const {
    snapshot s;
    s.cumulative.reserve(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.count = running;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
    if (!(start > 0) || !(factor > 1)) {
        throw std::invalid_argument("exponential buckets need start > 0 and factor > 1");
    }
    std::vector<double> out;
    double b = start;
    for (std::size_t i = 0; i < count; ++i, b *= factor) {
        out.push_back(b);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Families.

template <class Metric>
struct family<Metric>::state {
    std::string name;
    std::string help;
    std::vector<std::string> label_names;
    std::vector<double> bounds;  // histograms only
    mutable std::mutex mutex;
    std::map<std::vector<std::string>, std::unique_ptr<Metric>> metrics;

    std::unique_ptr<Metric> make() const {
        if constexpr (std::is_same_v<Metric, histogram>) {
            return std::make_unique<histogram>(bounds);
        } else {
            return std::make_unique<Metric>();
        }
    }

    Metric& get(std::vector<std::string> values) {
        if (values.size() != label_names.size()) {
            throw std::invalid_argument("metric " + name + " takes " +
                                        std::to_string(label_names.size()) + " label values, not " +
                                        std::to_string(values.size()));
        }
        std::lock_guard lock(mutex);
        auto& slot = metrics[std::move(values)];
        if (!slot) {
            slot = make();
        }
        return *slot;
    }
};

template <class Metric>
family<Metric>::family(std::unique_ptr<state> s) : state_(std::move(s)) {}

template <class Metric>
family<Metric>::~family() = default;

template <class Metric>
Metric& family<Metric>::with(std::initializer_list<std::string_view> label_values) {
    return state_->get(std::vector<std::string>(label_values.begin(), label_values.end()));
}

template <class Metric>
Metric& family<Metric>::with(const std::vector<std::string>& label_values) {
    return state_->get(label_values);
}

template <class Metric>
void family<Metric>::remove(const std::vector<std::string>& label_values) {
    std::lock_guard lock(state_->mutex);
    state_->metrics.erase(label_values);
}

template <class Metric>
const std::string& family<Metric>::name() const {
    return state_->name;
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

// ---------------------------------------------------------------------------------------------
// The registry.

struct registry::impl {
    using any_family = std::variant<std::unique_ptr<counter_family>, std::unique_ptr<gauge_family>,
                                    std::unique_ptr<histogram_family>>;
    mutable std::mutex mutex;
    std::map<std::string, any_family, std::less<>> families;

    template <class Metric>
    family<Metric>& add(kind k, std::string name, std::string help,
                        std::vector<std::string> label_names, std::vector<double> bounds) {
        if (!valid_metric_name(name)) {
            throw std::invalid_argument("invalid metric name: " + name);
        }
        for (const auto& l : label_names) {
            if (!valid_label_name(l) || (k == kind::histogram && l == "le")) {
                throw std::invalid_argument("invalid label name for " + name + ": " + l);
            }
        }
        for (std::size_t i = 0; i < label_names.size(); ++i) {
            if (std::find(label_names.begin() + static_cast<std::ptrdiff_t>(i) + 1, label_names.end(),
                          label_names[i]) != label_names.end()) {
                throw std::invalid_argument("label " + label_names[i] + " twice in " + name);
            }
        }
        std::lock_guard lock(mutex);
        if (auto it = families.find(name); it != families.end()) {
            auto* existing = std::get_if<std::unique_ptr<family<Metric>>>(&it->second);
            if (existing != nullptr) {
                const auto& s = *(*existing)->state_;
                if (s.help == help && s.label_names == label_names && s.bounds == bounds) {
                    return **existing;
                }
            }
            throw std::invalid_argument("metric " + name + " is already registered differently");
        }
        auto s = std::make_unique<typename family<Metric>::state>();
        s->name = name;
        s->help = std::move(help);
        s->label_names = std::move(label_names);
        s->bounds = std::move(bounds);
        bool unlabelled = s->label_names.empty();
        std::unique_ptr<family<Metric>> f(new family<Metric>(std::move(s)));
        if (unlabelled) {
            f->with(std::vector<std::string>{});
        }
        auto& ref = *f;
        families.emplace(std::move(name), std::move(f));
        return ref;
    }
};

registry::registry() : impl_(std::make_unique<impl>()) {}
registry::~registry() = default;

counter_family& registry::counters(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
    return impl_->add<counter>(kind::counter, std::move(name), std::move(help),
                               std::move(label_names), {});
}

gauge_family& registry::gauges(std::string name, std::string help,
                               std::vector<std::string> label_names) {
    return impl_->add<gauge>(kind::gauge, std::move(name), std::move(help), std::move(label_names),
                             {});
}

histogram_family& registry::histograms(std::string name, std::string help,
                                       std::vector<double> buckets,
                                       std::vector<std::string> label_names) {
    return impl_->add<histogram>(kind::histogram, std::move(name), std::move(help),
                                 std::move(label_names), checked_bounds(std::move(buckets)));
}

namespace {

template <class State>
void append_header(std::string& out, const State& s, kind k) {
    if (!s.help.empty()) {
        out += "# HELP ";
        out += s.name;
        out += ' ';
        append_help(out, s.help);
        out += '\n';
    }
    out += "# TYPE ";
    out += s.name;
    out += ' ';
    out += type_name(k);
    out += '\n';
}

template <class State>
void render_simple(std::string& out, const State& s, kind k) {
    std::lock_guard lock(s.mutex);
    if (s.metrics.empty()) {
        return;
    }
    append_header(out, s, k);
    for (const auto& [values, metric] : s.metrics) {
        append_sample(out, s.name, "", s.label_names, values, metric->value());
    }
}

template <class State>
void render_histogram(std::string& out, const State& s) {
    std::lock_guard lock(s.mutex);
    if (s.metrics.empty()) {
        return;
    }
    append_header(out, s, kind::histogram);
    std::vector<std::string> les;
    for (double b : s.bounds) {
        std::string le;
        append_number(le, b);
        les.push_back(std::move(le));
    }
    les.emplace_back("+Inf");
    for (const auto& [values, metric] : s.metrics) {
        auto snap = metric->read();
        for (std::size_t i = 0; i < les.size(); ++i) {
            append_sample(out, s.name, "_bucket", s.label_names, values,
                          static_cast<double>(snap.cumulative[i]), les[i]);
        }
        append_sample(out, s.name, "_sum", s.label_names, values, snap.sum);
        append_sample(out, s.name, "_count", s.label_names, values,
                      static_cast<double>(snap.count));
    }
}

}  // namespace

std::string registry::render() const {
    std::string out;
    std::lock_guard lock(impl_->mutex);
    for (const auto& [name, f] : impl_->families) {
        if (const auto* c = std::get_if<std::unique_ptr<counter_family>>(&f)) {
            render_simple(out, *(*c)->state_, kind::counter);
        } else if (const auto* g = std::get_if<std::unique_ptr<gauge_family>>(&f)) {
            render_simple(out, *(*g)->state_, kind::gauge);
        } else if (const auto* h = std::get_if<std::unique_ptr<histogram_family>>(&f)) {
            render_histogram(out, *(*h)->state_);
        }
    }
    return out;
}

}  // namespace changefeed::metrics
