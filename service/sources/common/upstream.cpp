#include "sources/common/upstream.hpp"

#include "core/log.hpp"
#include "http/message.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/evp.h>

#include <algorithm>

namespace changefeed::sources {

namespace asio = boost::asio;

namespace {

bool default_retryable(unsigned status) { return status == 429 || status >= 500; }

std::string method_and_url(const http::client_request& req) {
    return req.method + " " + http::redact_url(req.url);
}

// application/json or a +json type ("application/problem+json"), parameters ignored. Every
// vendor answers JSON; an answer without a Content-Type is left to the body's parser.
bool json_or_unlabelled(std::optional<std::string_view> content_type) {
    if (!content_type) {
        return true;
    }
    auto type = content_type->substr(0, content_type->find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
        type.remove_suffix(1);
    }
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) {
        type.remove_prefix(1);
    }
    auto lowered = http::ascii_lower(type);
    return lowered == "application/json" ||
           (lowered.size() > 5 && lowered.compare(lowered.size() - 5, 5, "+json") == 0);
}

// A vendor that echoes the request in its error may echo the Authorization header, whose Basic
// credentials are not among the configured secrets (only their parts are).
std::string hide_authorization(const http::client_request& req, std::string text) {
    for (const auto& [name, value] : req.headers) {
        if (!http::iequals(name, "authorization")) {
            continue;
        }
        auto space = value.find(' ');
        auto credential = space == std::string::npos ? value : value.substr(space + 1);
        if (credential.size() < 4) {
            continue;
        }
        for (auto pos = text.find(credential); pos != std::string::npos; pos = text.find(credential, pos)) {
            text.replace(pos, credential.size(), "***");
        }
    }
    return text;
}

}  // namespace

upstream::upstream(asio::any_io_executor ex, upstream_settings settings)
    : executor_(ex), settings_(std::move(settings)), client_(ex, settings_.client),
      limiter_(settings_.rate_limit), rng_(std::random_device{}()) {
    if (!settings_.retryable) {
        settings_.retryable = default_retryable;
    }
    if (settings_.max_attempts == 0) {
        settings_.max_attempts = 1;
    }
}

upstream::~upstream() = default;

std::string upstream::scrub(std::string text) const {
    for (const auto& secret : settings_.secrets) {
        if (secret.size() < 4) {
            continue;  // too short to hide without mangling ordinary words
        }
        for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
            text.replace(pos, secret.size(), "***");
        }
    }
    return text;
}

std::string upstream::describe(const http::client_request& req,
                               const http::client_response& res) const {
    std::string text = method_and_url(req) + " answered " + std::to_string(res.status);
    if (settings_.describe) {
        auto vendor = settings_.describe(res);
        if (!vendor.empty()) {
            text += ": " + vendor;
        }
    }
    return scrub(hide_authorization(req, std::move(text)));
}

void upstream::fail(const http::client_request& req, const http::client_response& res,
                    const std::string& why) const {
    auto text = describe(req, res);
    if (!why.empty()) {
        text += " (" + scrub(why) + ")";
    }
    auto kind = res.status >= 200 && res.status < 300 ? upstream_failure::invalid
                                                      : upstream_failure::rejected;
    if (res.status == 401 || res.status == 403) {
        kind = upstream_failure::auth;
    }
    throw upstream_error(kind, text, res.status);
}

void upstream::invalid(const http::client_request& req, const std::string& why) const {
    throw upstream_error(upstream_failure::invalid,
                         scrub(method_and_url(req) + ": unexpected response: " + why));
}

asio::awaitable<void> upstream::wait_for(std::chrono::microseconds d, const std::string& reason) {
    if (on_wait) {
        on_wait(time::now() + d, reason);
    }
    asio::steady_timer timer(executor_, d);
    co_await timer.async_wait(asio::use_awaitable);
    if (on_wait) {
        on_wait(std::nullopt, reason);
    }
}

asio::awaitable<void> upstream::acquire() {
    for (;;) {
        auto now = time::now();
        auto wait = limiter_.try_acquire(now);
        if (!wait) {
            if (on_admitted) {
                on_admitted(now);
            }
            co_return;
        }
        co_await wait_for(*wait, std::string(k_waiting_for_budget));
    }
}

asio::awaitable<http::client_response> upstream::send(http::client_request req) {
    std::string last_problem;
    for (unsigned attempt = 0; attempt < settings_.max_attempts; ++attempt) {
        co_await acquire();
        ++requests_;
        std::optional<http::client_response> answer;
        try {
            auto op = client_.send(req);
            answer = co_await std::move(op);
        } catch (const http::client_error& e) {
            last_problem = scrub(e.what());
            if (e.code() == http::client_errc::redirect || e.code() == http::client_errc::bad_url) {
                if (on_request) {
                    on_request("error");
                }
                throw upstream_error(upstream_failure::rejected, last_problem);
            }
        }
        if (on_request) {
            on_request(answer ? std::to_string(answer->status) : std::string("error"));
        }

        std::optional<std::chrono::milliseconds> told;  // what the vendor asked us to wait
        if (answer) {
            auto status = answer->status;
            if (status == 401 || status == 403) {
                throw upstream_error(upstream_failure::auth, describe(req, *answer), status);
            }
            bool success = status >= 200 && status < 300;
            if (success && !json_or_unlabelled(answer->header("content-type"))) {
                // A proxy's or a maintenance page, not the vendor's answer: retried as a 5xx
                // would be, and never handed to the source even when it happens to parse.
                last_problem = scrub(method_and_url(req) + " answered " + std::to_string(status) +
                                     " with Content-Type \"" +
                                     std::string(answer->header("content-type")->substr(0, 100)) +
                                     "\" where JSON was expected");
            } else if (!settings_.retryable(status)) {
                co_return std::move(*answer);
            } else {
                last_problem = describe(req, *answer);
            }
            auto now = time::now();
            if (settings_.retry_at) {
                if (auto at = settings_.retry_at(*answer)) {
                    told = *at > now ? std::chrono::ceil<std::chrono::milliseconds>(*at - now)
                                     : std::chrono::milliseconds(0);
                }
            }
            if (!told) {
                if (auto v = answer->header("retry-after")) {
                    told = parse_retry_after(*v, now);
                }
            }
            if (!told && status == 429) {
                if (auto v = answer->header("ratelimit-reset")) {
                    told = parse_ratelimit_reset(*v, now);
                }
            }
            if (told && status == 429) {
                limiter_.pause_until(now + *told);
            }
        }
        if (attempt + 1 >= settings_.max_attempts) {
            break;
        }
        auto delay = told ? *told : full_jitter(settings_.backoff, attempt, rng_);
        if (delay > settings_.max_retry_wait) {
            break;  // the poll loop sits this out, with the source shown as backing off
        }
        log::info("upstream request will be retried",
                  {{"source", settings_.source},
                   {"problem", last_problem},
                   {"retry_in_ms", static_cast<std::int64_t>(delay.count())}});
        co_await wait_for(std::chrono::duration_cast<std::chrono::microseconds>(delay), last_problem);
    }
    throw upstream_error(upstream_failure::unavailable, last_problem);
}

std::string basic_auth(const std::string& user, const std::string& password) {
    std::string plain = user + ":" + password;
    std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
    auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                             reinterpret_cast<const unsigned char*>(plain.data()),
                             static_cast<int>(plain.size()));
    out.resize(static_cast<std::size_t>(n));
    return "Basic " + out;
}

}  // namespace changefeed::sources
