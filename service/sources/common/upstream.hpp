// A source's way out to its vendor: the HTTP client behind the source's rate limiter, with
// retries of what is worth retrying (429, 5xx, network errors) under exponential backoff that
// honours Retry-After and ratelimit-reset, and errors that name the problem without a secret.
#pragma once

#include "http/client.hpp"
#include "sources/common/backoff.hpp"
#include "sources/common/rate_limiter.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace changefeed::sources {

/// The reason on_wait gives while a request waits for the rate budget.
inline constexpr std::string_view k_waiting_for_budget = "rate budget";

enum class upstream_failure {
    auth,         ///< 401/403: credentials or scopes are wrong; retrying soon will not help
    rejected,     ///< another 4xx the source did not expect
    unavailable,  ///< 429, 5xx or the network, still failing after every retry
    invalid,      ///< a 2xx whose body is not what the vendor documents
};

class upstream_error : public std::runtime_error {
public:
    upstream_error(upstream_failure kind, const std::string& message, unsigned status = 0)
        : std::runtime_error(message), kind_(kind), status_(status) {}
    [[nodiscard]] upstream_failure kind() const { return kind_; }
    [[nodiscard]] unsigned status() const { return status_; }

private:
    upstream_failure kind_;
    unsigned status_;
};

struct upstream_settings {
    std::string source;  ///< source name, for messages
    std::vector<rate_window> rate_limit;
    http::client_options client;
    /// Tries per request (1 = no retry) before send() gives up with `unavailable`.
    unsigned max_attempts = 4;
    backoff_policy backoff;
    /// Longest wait send() will sit out for one retry; a longer Retry-After makes it give up
    /// (the poll loop then backs off and the source shows `backing_off`).
    std::chrono::milliseconds max_retry_wait = std::chrono::minutes(2);
    /// Values never shown in an error message (tokens, keys); replaced by "***".
    std::vector<std::string> secrets;
    /// Statuses retried; default 429 and 5xx.
    std::function<bool(unsigned status)> retryable;
    /// A vendor-specific "retry at" read from a throttled answer (e.g. Precoro's 429 body).
    std::function<std::optional<time::time_point>(const http::client_response&)> retry_at;
    /// The vendor's error text in an answer (e.g. `errorMsg`); default: the status alone.
    std::function<std::string(const http::client_response&)> describe;
};

class upstream {
public:
    upstream(boost::asio::any_io_executor ex, upstream_settings settings);
    ~upstream();

    /// Sends `req` within the budget. Returns the response for every status that is not retried
    /// (2xx and the 4xx other than 401/403/429). Throws upstream_error: `auth` for 401/403,
    /// `unavailable` when retries ran out; operation_aborted when cancelled.
    boost::asio::awaitable<http::client_response> send(http::client_request req);

    /// Throws upstream_error for an answer the source did not expect (`rejected`, or `invalid`
    /// for a 2xx), naming the request, the status and the vendor's message.
    [[noreturn]] void fail(const http::client_request& req, const http::client_response& res,
                           const std::string& why = {}) const;
    /// Throws upstream_error `invalid` for a body that is not what the vendor documents.
    [[noreturn]] void invalid(const http::client_request& req, const std::string& why) const;

    [[nodiscard]] rate_limiter& limiter() { return limiter_; }
    [[nodiscard]] const rate_limiter& limiter() const { return limiter_; }
    [[nodiscard]] std::uint64_t requests() const { return requests_; }
    [[nodiscard]] const upstream_settings& settings() const { return settings_; }

    /// Vendor hooks, set by the source when it is created (see upstream_settings).
    void set_describe(std::function<std::string(const http::client_response&)> fn) {
        settings_.describe = std::move(fn);
    }
    void set_retry_at(
        std::function<std::optional<time::time_point>(const http::client_response&)> fn) {
        settings_.retry_at = std::move(fn);
    }
    void set_retryable(std::function<bool(unsigned status)> fn) {
        settings_.retryable = std::move(fn);
    }

    /// `text` with every configured secret replaced by "***".
    [[nodiscard]] std::string scrub(std::string text) const;

    /// Called for every request sent: the status as text ("200", "429") or "error".
    std::function<void(const std::string& status)> on_request;
    /// Called when the limiter admits a request (to persist the budget).
    std::function<void(time::time_point at)> on_admitted;
    /// Called when send() starts waiting until `until`, with the reason: k_waiting_for_budget, or
    /// for a retry the problem being retried (scrubbed of secrets); and with nullopt when it goes on.
    std::function<void(std::optional<time::time_point> until, const std::string& reason)> on_wait;

private:
    boost::asio::awaitable<void> wait_for(std::chrono::microseconds d, const std::string& reason);
    boost::asio::awaitable<void> acquire();
    [[nodiscard]] std::string describe(const http::client_request& req,
                                       const http::client_response& res) const;

    boost::asio::any_io_executor executor_;
    upstream_settings settings_;
    http::client client_;
    rate_limiter limiter_;
    std::uint64_t requests_ = 0;
    std::mt19937_64 rng_;
};

/// The Authorization header value for HTTP Basic credentials: "Basic base64(user:password)".
std::string basic_auth(const std::string& user, const std::string& password);

}  // namespace changefeed::sources
