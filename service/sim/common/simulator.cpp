#include "sim/common/simulator.hpp"

namespace changefeed::sim {

std::vector<std::string> simulator::violations() const {
    std::lock_guard lock(mutex_);
    return violations_;
}

std::uint64_t simulator::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::uint64_t simulator::throttled() const {
    std::lock_guard lock(mutex_);
    return throttled_;
}

std::map<std::string, std::uint64_t> simulator::requests_by_agent() const {
    std::lock_guard lock(mutex_);
    return agents_;
}

void simulator::on_request(std::function<void(const http::request&)> hook) {
    std::lock_guard lock(mutex_);
    hook_ = std::move(hook);
}

void simulator::count_request(const http::request& req) {
    std::function<void(const http::request&)> hook;
    {
        std::lock_guard lock(mutex_);
        ++requests_;
        ++agents_[std::string(req.header("user-agent").value_or(""))];
        hook = hook_;
    }
    if (hook) {
        hook(req);
    }
}

void simulator::violation(std::string what) {
    if (violations_.size() < 1000) {
        violations_.push_back(std::move(what));
    }
}

std::string_view fault_name(fault f) {
    switch (f) {
    case fault::server_error: return "server_error";
    case fault::cut_length: return "cut_length";
    case fault::cut_chunked: return "cut_chunked";
    case fault::malformed_json: return "malformed_json";
    case fault::wrong_content_type: return "wrong_content_type";
    case fault::huge_body: return "huge_body";
    case fault::slow_body: return "slow_body";
    case fault::no_answer: return "no_answer";
    }
    return "unknown";
}

void simulator::inject(fault f, std::uint64_t count) {
    std::lock_guard lock(mutex_);
    fault_ = f;
    fault_left_ = count;
    fault_fraction_ = 1.0;
}

void simulator::inject_fraction(fault f, double fraction, std::uint64_t seed) {
    std::lock_guard lock(mutex_);
    fault_ = f;
    fault_left_ = UINT64_MAX;
    fault_fraction_ = fraction;
    fault_rng_.seed(seed);
}

void simulator::clear_faults() {
    std::lock_guard lock(mutex_);
    fault_.reset();
    fault_left_ = 0;
}

std::uint64_t simulator::faults_served(fault f) const {
    std::lock_guard lock(mutex_);
    auto it = faults_served_.find(f);
    return it == faults_served_.end() ? 0 : it->second;
}

std::optional<fault> simulator::take_fault() {
    std::lock_guard lock(mutex_);
    if (!fault_ || fault_left_ == 0) {
        return std::nullopt;
    }
    if (fault_fraction_ < 1.0 &&
        std::uniform_real_distribution<double>(0.0, 1.0)(fault_rng_) >= fault_fraction_) {
        return std::nullopt;
    }
    if (fault_left_ != UINT64_MAX) {
        --fault_left_;
    }
    ++faults_served_[*fault_];
    return fault_;
}

http::response json_reply(unsigned status, std::string body) {
    return http::json_response(std::move(body), status);
}

}  // namespace changefeed::sim
