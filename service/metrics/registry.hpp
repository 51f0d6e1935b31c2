// A small Prometheus registry: counters, gauges (set or read from a function) and histograms, each in
// a family of label sets, rendered in the text exposition format 0.0.4.
//
// Updating a metric is lock-free (atomics) and may happen on any thread; creating a label set,
// removing one and render() take the family's lock, so a scrape on another thread is safe.
// A metric reference stays valid until its label set is removed or the registry is destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace changefeed::metrics {

namespace detail {

/// A value kept in an atomic, or read from a function at every render.
class value_cell {
public:
    /// From now on the value is `read()`, called at every render on the rendering thread (for a
    /// value kept elsewhere). It must not call back into the registry.
    void set_function(std::function<double()> read);
    /// The current value (calls the function when one is set; NaN when it throws).
    [[nodiscard]] double value() const;

protected:
    void add(double amount) noexcept;
    void store(double v) noexcept;

private:
    std::atomic<double> value_{0.0};
    mutable std::mutex read_mutex_;
    std::function<double()> read_;
};

}  // namespace detail

/// A value that only goes up. Resets only when the process restarts. A function set with
/// set_function() must not decrease either.
class counter : public detail::value_cell {
public:
    /// Adds `amount`; a negative or NaN amount is ignored (a counter never goes down).
    void inc(double amount = 1.0) noexcept;
};

/// A value that goes up and down.
class gauge : public detail::value_cell {
public:
    void set(double v) noexcept;
    void inc(double amount = 1.0) noexcept;
    void dec(double amount = 1.0) noexcept;
};

/// Counts observations into buckets with fixed upper bounds, plus their sum.
class histogram {
public:
    /// `bounds`: strictly increasing finite upper bounds (the +Inf bucket is implicit).
    explicit histogram(std::vector<double> bounds);

    /// Counts `v` in the first bucket whose bound is >= v (+Inf when none is; NaN too).
    void observe(double v) noexcept;

    struct snapshot {
        std::vector<std::uint64_t> cumulative;  ///< per bound, then +Inf (== count)
        double sum = 0;
        std::uint64_t count = 0;
    };
    /// Bucket counts are read one by one, so an observation racing a read may show in the
    /// buckets and not yet in the sum; `count` always equals the +Inf bucket.
    [[nodiscard]] snapshot read() const;
    [[nodiscard]] const std::vector<double>& bounds() const { return bounds_; }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bound, then +Inf
    std::atomic<double> sum_{0.0};
};

/// The bounds `start`, `start * factor`, ... (`count` of them), e.g. for latencies.
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

/// One metric name with its help text, label names and one metric per set of label values.
template <class Metric>
class family {
public:
    family(const family&) = delete;
    family& operator=(const family&) = delete;
    ~family();

    /// The metric of these label values (one per label name, in the family's order), created
    /// on first use. Throws std::invalid_argument when the number of values is wrong.
    Metric& with(std::initializer_list<std::string_view> label_values);
    Metric& with(const std::vector<std::string>& label_values);
    /// Forgets a label set (a removed source, say); references to its metric dangle afterwards.
    void remove(const std::vector<std::string>& label_values);

    [[nodiscard]] const std::string& name() const;

private:
    friend class registry;
    struct state;
    explicit family(std::unique_ptr<state> s);
    std::unique_ptr<state> state_;
};

extern template class family<counter>;
extern template class family<gauge>;
extern template class family<histogram>;

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

class registry {
public:
    registry();
    ~registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    /// Registers a family, or returns the one registered under `name` when type, help, labels
    /// (and buckets) are the same. A family without labels has its one metric from the start.
    /// Throws std::invalid_argument for an invalid metric or label name (`le` is reserved in
    /// histograms, `__` prefixes everywhere), for buckets that do not increase, and for a name
    /// already registered differently.
    counter_family& counters(std::string name, std::string help,
                             std::vector<std::string> label_names = {});
    gauge_family& gauges(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
    /// `buckets`: strictly increasing upper bounds; a trailing +Inf is allowed and implied anyway.
    histogram_family& histograms(std::string name, std::string help, std::vector<double> buckets,
                                 std::vector<std::string> label_names = {});

    /// Every family with at least one metric, by name; within a family, label sets in order of
    /// their values. Text exposition format 0.0.4 (`text/plain; version=0.0.4`).
    [[nodiscard]] std::string render() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// The Content-Type of render()'s output.
inline constexpr std::string_view k_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace changefeed::metrics
