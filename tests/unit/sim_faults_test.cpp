// The simulators' fault relay (sim_host with faults on) against the real client and upstream:
// each fault is served as described, counted, and the next request is answered normally.
#include "http/client.hpp"
#include "sim/common/sim_host.hpp"
#include "sim/common/simulator.hpp"
#include "sources/common/upstream.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

namespace changefeed::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using sim::fault;

// One route answering a small JSON object.
class tiny_simulator final : public sim::simulator {
public:
    void install(http::router& routes) override {
        routes.add("GET", "/items", [this](const http::request& req) -> asio::awaitable<http::response> {
            count_request(req);
            co_return sim::json_reply(200, R"({"items":[1,2,3]})");
        });
    }
    void tick(std::mt19937_64&) override {}
};

// A simulator served with its relay on the test's io_context; stop() before the test ends.
struct relayed_sim {
    explicit relayed_sim(asio::io_context& ioc) : host(ioc.get_executor(), sim, "127.0.0.1:0", true) {
        asio::co_spawn(ioc, host.run(), [this](const std::exception_ptr&) { ended = true; });
    }
    std::string url() const { return host.base_url() + "/items?token=secret-in-query"; }

    tiny_simulator sim;
    sim::sim_host host;
    bool ended = false;
};

// What one request gave: the response, or the client's error.
struct outcome {
    std::optional<http::client_response> response;
    std::optional<http::client_errc> code;
    std::string message;
};

asio::awaitable<outcome> fetch(http::client& client, std::string url) {
    outcome out;
    http::client_request req;
    req.url = std::move(url);
    try {
        out.response = co_await client.send(req);
    } catch (const http::client_error& e) {
        out.code = e.code();
        out.message = e.what();
    }
    co_return out;
}

void finish(asio::io_context& ioc, relayed_sim& s) {
    s.host.stop();
    for (int i = 0; i < 200 && !s.ended; ++i) {
        ioc.run_one_for(10ms);
    }
    EXPECT_TRUE(s.ended);
}

TEST(sim_faults, each_fault_is_served_once_counted_and_then_the_answer_is_normal) {
    asio::io_context ioc;
    relayed_sim s(ioc);
    http::client_options opts;
    opts.timeout = 300ms;
    opts.max_response_bytes = 1024 * 1024;
    http::client client(ioc.get_executor(), opts);
    const std::vector<fault> all{fault::server_error, fault::cut_length,     fault::cut_chunked,
                                 fault::malformed_json, fault::wrong_content_type, fault::huge_body,
                                 fault::slow_body,    fault::no_answer};
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        for (auto f : all) {
            SCOPED_TRACE(std::string(sim::fault_name(f)));
            s.sim.inject(f, 1);
            auto bad = co_await fetch(client, s.url());
            EXPECT_EQ(bad.message.find("secret-in-query"), std::string::npos) << bad.message;
            switch (f) {
            case fault::server_error:
                EXPECT_TRUE(bad.response);
                EXPECT_EQ(bad.response ? bad.response->status : 0u, 502u);
                break;
            case fault::cut_length:
            case fault::cut_chunked:
                EXPECT_EQ(bad.code, http::client_errc::io);
                EXPECT_NE(bad.message.find("cut short"), std::string::npos) << bad.message;
                break;
            case fault::malformed_json: {
                EXPECT_TRUE(bad.response);
                if (bad.response) {
                    EXPECT_EQ(bad.response->status, 200u);
                    EXPECT_EQ(bad.response->header("content-type"), "application/json");
                    boost::system::error_code ec;
                    boost::json::parse(bad.response->body, ec);
                    EXPECT_TRUE(ec) << bad.response->body;
                }
                break;
            }
            case fault::wrong_content_type:
                EXPECT_TRUE(bad.response);
                if (bad.response) {
                    EXPECT_EQ(bad.response->status, 200u);
                    EXPECT_EQ(bad.response->header("content-type"), "text/html; charset=utf-8");
                }
                break;
            case fault::huge_body:
                EXPECT_EQ(bad.code, http::client_errc::too_large) << bad.message;
                break;
            case fault::slow_body:
                EXPECT_EQ(bad.code, http::client_errc::timeout);
                EXPECT_NE(bad.message.find("timed out reading the response"), std::string::npos) << bad.message;
                break;
            case fault::no_answer:
                EXPECT_EQ(bad.code, http::client_errc::timeout);
                EXPECT_NE(bad.message.find("timed out awaiting the response"), std::string::npos) << bad.message;
                break;
            }
            EXPECT_EQ(s.sim.faults_served(f), 1u);
            auto good = co_await fetch(client, s.url());
            EXPECT_TRUE(good.response) << good.message;
            EXPECT_EQ(good.response ? good.response->body : "", R"({"items":[1,2,3]})");
        }
        // Faults are not requests the simulator answered: one normal answer per fault.
        EXPECT_EQ(s.sim.requests(), all.size());
    }());
    finish(ioc, s);
}

TEST(sim_faults, the_upstream_retries_through_cut_bodies_and_refuses_a_proxy_page) {
    asio::io_context ioc;
    relayed_sim s(ioc);
    sources::upstream_settings settings;
    settings.source = "test";
    settings.backoff = {10ms, 50ms};
    settings.client.timeout = 300ms;
    settings.max_attempts = 3;
    sources::upstream up(ioc.get_executor(), settings);
    run_coro(ioc, [&]() -> asio::awaitable<void> {
        http::client_request req;
        req.url = s.url();
        s.sim.inject(fault::cut_chunked, 2);
        auto res = co_await up.send(req);
        EXPECT_EQ(res.body, R"({"items":[1,2,3]})");
        EXPECT_EQ(s.sim.faults_served(fault::cut_chunked), 2u);

        s.sim.inject(fault::wrong_content_type);
        std::string why;
        try {
            co_await up.send(req);
        } catch (const sources::upstream_error& e) {
            why = e.what();
        }
        EXPECT_NE(why.find("where JSON was expected"), std::string::npos) << why;
        EXPECT_EQ(s.sim.faults_served(fault::wrong_content_type), 3u);
        s.sim.clear_faults();
        auto again = co_await up.send(req);
        EXPECT_EQ(again.status, 200u);
    }());
    finish(ioc, s);
}

TEST(sim_faults, a_fraction_is_drawn_from_the_seed) {
    auto pattern = [](std::uint64_t seed) {
        tiny_simulator sim;
        sim.inject_fraction(fault::server_error, 0.3, seed);
        std::string out;
        for (int i = 0; i < 200; ++i) {
            out += sim.take_fault() ? 'x' : '.';
        }
        return out;
    };
    auto first = pattern(42);
    EXPECT_EQ(first, pattern(42));
    EXPECT_NE(first, pattern(43));
    auto served = std::count(first.begin(), first.end(), 'x');
    EXPECT_GT(served, 30);
    EXPECT_LT(served, 90);
}

}  // namespace
}  // namespace changefeed::test
