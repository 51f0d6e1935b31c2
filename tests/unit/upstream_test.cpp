// The upstream wrapper: retries of 429/5xx honouring Retry-After, auth failures, the budget,
// and error messages free of secrets; against a scripted server on 127.0.0.1.
#include "http/router.hpp"
#include "http/server.hpp"
#include "sources/common/upstream.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

#include <deque>

namespace changefeed::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Answers with the scripted responses in order (the last one repeats), recording arrival times.
struct scripted_server {
    scripted_server(asio::io_context& ioc, std::deque<http::response> script)
        : answers(std::move(script)), server(ioc.get_executor(), routes, http::server_options{}) {
        routes.add("GET", "/thing", [this](const http::request&) -> asio::awaitable<http::response> {
            arrivals.push_back(std::chrono::steady_clock::now());
            auto r = answers.front();
            if (answers.size() > 1) {
                answers.pop_front();
            }
            co_return r;
        });
        server.listen("127.0.0.1:0");
        asio::co_spawn(ioc, server.run(), asio::detached);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()) + "/thing"; }

    std::deque<http::response> answers;
    std::vector<std::chrono::steady_clock::time_point> arrivals;
    http::router routes;
    http::server server;
};

http::response status(unsigned code, std::string body = "{}",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::response r;
    r.status = code;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

sources::upstream_settings settings() {
    sources::upstream_settings s;
    s.source = "test";
    s.backoff = {10ms, 50ms};
    s.client.timeout = 5s;
    s.secrets = {"sekrit-token-123"};
    return s;
}

TEST(upstream, a_429_is_retried_no_sooner_than_retry_after) {
    asio::io_context ioc;
    scripted_server srv(ioc, {status(429, "slow down", {{"Retry-After", "1"}}), status(200, "ok")});
    sources::upstream up(ioc.get_executor(), settings());
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = srv.url();
        auto res = co_await up.send(req);
        EXPECT_EQ(res.status, 200u);
        srv.server.stop();
    }());
    ASSERT_EQ(srv.arrivals.size(), 2u);
    EXPECT_GE(srv.arrivals[1] - srv.arrivals[0], 1s);
    EXPECT_EQ(up.requests(), 2u);
}

TEST(upstream, server_errors_are_retried_then_reported_as_unavailable) {
    asio::io_context ioc;
    scripted_server srv(ioc, {status(503, R"({"error":"down for sekrit-token-123"})")});
    auto s = settings();
    s.max_attempts = 3;
    sources::upstream up(ioc.get_executor(), s);
    std::vector<std::string> statuses;
    up.on_request = [&](const std::string& st) { statuses.push_back(st); };
    std::vector<std::string> retried;
    up.on_wait = [&](std::optional<time::time_point> until, const std::string& reason) {
        if (until) {
            retried.push_back(reason);
        }
    };
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = srv.url();
        std::optional<sources::upstream_error> error;
        try {
            co_await up.send(req);
        } catch (const sources::upstream_error& e) {
            error = e;
        }
        srv.server.stop();
        EXPECT_TRUE(error);
        if (error) {
            EXPECT_EQ(error->kind(), sources::upstream_failure::unavailable);
        }
    }());
    EXPECT_EQ(srv.arrivals.size(), 3u);
    EXPECT_EQ(statuses, (std::vector<std::string>{"503", "503", "503"}));
    // Each wait before a retry names what is retried, without the secret the vendor echoed.
    ASSERT_EQ(retried.size(), 2u);
    for (const auto& reason : retried) {
        EXPECT_NE(reason.find("answered 503"), std::string::npos) << reason;
        EXPECT_EQ(reason.find("sekrit-token-123"), std::string::npos) << reason;
    }
}

TEST(upstream, rejected_credentials_fail_at_once_without_the_secret) {
    asio::io_context ioc;
    scripted_server srv(ioc, {status(401, R"({"error":"bad token sekrit-token-123","status":401})")});
    auto s = settings();
    s.describe = [](const http::client_response& r) { return r.body; };
    sources::upstream up(ioc.get_executor(), s);
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = srv.url();
        std::optional<sources::upstream_error> error;
        try {
            co_await up.send(req);
        } catch (const sources::upstream_error& e) {
            error = e;
        }
        srv.server.stop();
        EXPECT_TRUE(error);
        if (error) {
            EXPECT_EQ(error->kind(), sources::upstream_failure::auth);
            EXPECT_EQ(error->status(), 401u);
            std::string text = error->what();
            EXPECT_NE(text.find("bad token"), std::string::npos) << text;
            EXPECT_EQ(text.find("sekrit-token-123"), std::string::npos) << text;
        }
    }());
    EXPECT_EQ(srv.arrivals.size(), 1u);
}

TEST(upstream, other_client_errors_come_back_to_the_caller) {
    asio::io_context ioc;
    scripted_server srv(ioc, {status(422, R"({"error":"too old"})")});
    sources::upstream up(ioc.get_executor(), settings());
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = srv.url();
        auto res = co_await up.send(req);
        EXPECT_EQ(res.status, 422u);
        srv.server.stop();
    }());
}

TEST(upstream, the_budget_spaces_requests_out) {
    asio::io_context ioc;
    scripted_server srv(ioc, {status(200)});
    auto s = settings();
    s.rate_limit = {{2, 1s}};
    sources::upstream up(ioc.get_executor(), s);
    std::vector<time::time_point> admitted;
    std::vector<std::string> waits;
    up.on_admitted = [&](time::time_point at) { admitted.push_back(at); };
    up.on_wait = [&](std::optional<time::time_point> until, const std::string& reason) {
        if (until) {
            waits.push_back(reason);
        }
    };
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 5; ++i) {
            http::client_request req;
            req.url = srv.url();
            co_await up.send(req);
            // Each request reaches the server only after the limiter admitted it.
            EXPECT_EQ(srv.arrivals.size(), admitted.size());
        }
        srv.server.stop();
    }());
    ASSERT_EQ(srv.arrivals.size(), 5u);
    ASSERT_EQ(admitted.size(), 5u);
    // The limiter never admitted three requests within one second, so the caller had to wait.
    for (std::size_t i = 2; i < admitted.size(); ++i) {
        EXPECT_GE(admitted[i] - admitted[i - 2], 1s);
    }
    EXPECT_GE(waits.size(), 2u);
    for (const auto& reason : waits) {
        EXPECT_EQ(reason, sources::k_waiting_for_budget);
    }
}

TEST(upstream, a_vendor_retry_time_in_the_body_wins) {
    asio::io_context ioc;
    scripted_server srv(ioc, {status(429, R"({"RateLimit-Retry-After":"in a bit"})"), status(200)});
    auto s = settings();
    s.retry_at = [](const http::client_response&) {
        return std::optional<time::time_point>(time::now() + std::chrono::milliseconds(700));
    };
    sources::upstream up(ioc.get_executor(), s);
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = srv.url();
        co_await up.send(req);
        srv.server.stop();
        // The pause shows in the budget until it ends.
    }());
    ASSERT_EQ(srv.arrivals.size(), 2u);
    EXPECT_GE(srv.arrivals[1] - srv.arrivals[0], 650ms);
}

http::response typed(std::string content_type, std::string body) {
    auto r = status(200, std::move(body));
    r.content_type = std::move(content_type);
    return r;
}

TEST(upstream, a_success_that_is_not_json_is_retried_like_a_server_error_and_named) {
    asio::io_context ioc;
    // A proxy's page (it happens to parse as JSON), then the vendor's answer.
    scripted_server srv(ioc, {typed("text/html; charset=utf-8", "{}"),
                              typed("Application/Problem+JSON; charset=utf-8", R"({"ok":1})")});
    sources::upstream up(ioc.get_executor(), settings());
    scripted_server down(ioc, {typed("text/html", "<html>maintenance</html>")});
    auto s = settings();
    s.max_attempts = 2;
    sources::upstream gives_up(ioc.get_executor(), s);
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = srv.url();
        auto res = co_await up.send(req);
        EXPECT_EQ(res.body, R"({"ok":1})");
        req.url = down.url() + "?key=sekrit-token-123";
        try {
            co_await gives_up.send(req);
            ADD_FAILURE() << "a text/html 200 was taken";
        } catch (const sources::upstream_error& e) {
            EXPECT_EQ(e.kind(), sources::upstream_failure::unavailable);
            std::string what = e.what();
            EXPECT_NE(what.find("answered 200 with Content-Type \"text/html\" where JSON was expected"),
                      std::string::npos) << what;
            EXPECT_EQ(what.find("sekrit"), std::string::npos) << what;
        }
        srv.server.stop();
        down.server.stop();
    }());
    EXPECT_EQ(srv.arrivals.size(), 2u);
    EXPECT_EQ(down.arrivals.size(), 2u);
}

TEST(upstream, basic_auth_header) {
    EXPECT_EQ(sources::basic_auth("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

}  // namespace
}  // namespace changefeed::test
