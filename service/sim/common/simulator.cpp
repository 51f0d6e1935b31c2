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

http::response json_reply(unsigned status, std::string body) {
    return http::json_response(std::move(body), status);
}

}  // namespace changefeed::sim
