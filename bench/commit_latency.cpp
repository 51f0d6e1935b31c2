// Commit -> long-polling consumer latency: a writer commits single events through the outbox
// writer (its own process, like a second replica) every INTERVAL ms while CONSUMERS threads
// long-poll `GET /changes?wait=` on the service; for every event and consumer, the time from the
// writer's commit acknowledgement to the consumer's receipt of the page holding it. Prints
// "latency_ms p50 <x> p99 <y> max <z>" over all receipts, and the receipts counted.
#include "db/outbox_writer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace changefeed;
using steady = std::chrono::steady_clock;

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

bhttp::response<bhttp::string_body> get(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                        const std::string& target) {
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    stream.expires_after(std::chrono::seconds(30));
    bhttp::write(stream, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    if (res.result_int() != 200) {
        throw std::runtime_error(fmt::format("GET {} answered {}: {}", target, res.result_int(), res.body()));
    }
    return res;
}

beast::tcp_stream connect(asio::io_context& ioc, unsigned short port) {
    beast::tcp_stream stream(ioc);
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    return stream;
}

std::int64_t head_seq(unsigned short port) {
    asio::io_context ioc;
    auto stream = connect(ioc, port);
    beast::flat_buffer buffer;
    auto res = get(stream, buffer, "/changes?since=now&limit=1");
    return boost::json::parse(res.body()).as_object().at("next_since").to_number<std::int64_t>();
}

// One consumer: long-polls from `since` until it holds every event of the run or `deadline`;
// receipts[i] is when it received event i.
void consume(unsigned short port, std::int64_t since, const std::string& run_id, steady::time_point deadline,
             std::vector<std::int64_t>& receipts, std::atomic<bool>& failed) {
    try {
        asio::io_context ioc;
        auto stream = connect(ioc, port);
        std::size_t received = 0;
        beast::flat_buffer buffer;
        while (received < receipts.size() && steady::now() < deadline) {
            auto res = get(stream, buffer, fmt::format("/changes?since={}&limit=1000&wait=10", since));
            auto at = now_ns();
            auto page = boost::json::parse(res.body()).as_object();
            for (const auto& change : page.at("changes").as_array()) {
                const auto& c = change.as_object();
                std::string key(c.at("resource_id").as_string());
                auto dash = key.rfind('-');
                if (dash == std::string::npos || key.substr(0, dash) != run_id) {
                    continue;
                }
                auto i = std::stoul(key.substr(dash + 1));
                if (i < receipts.size() && receipts[i] == 0) {
                    receipts[i] = at;
                    ++received;
                }
            }
            since = page.at("next_since").to_number<std::int64_t>();
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "consumer failed: {}\n", e.what());
        failed = true;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        fmt::print(stderr, "usage: commit_latency DATABASE_URL SERVICE_PORT [consumers=4] [events=1000] [interval_ms=10]\n");
        return 2;
    }
    std::string url = argv[1];
    auto port = static_cast<unsigned short>(std::atoi(argv[2]));
    int consumers = argc > 3 ? std::atoi(argv[3]) : 4;
    std::size_t events = argc > 4 ? static_cast<std::size_t>(std::atoll(argv[4])) : 1000;
    int interval_ms = argc > 5 ? std::atoi(argv[5]) : 10;
    auto run_id = fmt::format("latency{}", std::chrono::system_clock::now().time_since_epoch().count());

    asio::io_context ioc{1};
    db::outbox_writer writer(ioc.get_executor(), url);
    asio::co_spawn(ioc, writer.run(), asio::detached);
    std::vector<std::int64_t> commits(events, 0);
    bool writer_failed = false;

    std::vector<std::vector<std::int64_t>> receipts(static_cast<std::size_t>(consumers),
                                                    std::vector<std::int64_t>(events, 0));
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    auto since = head_seq(port);
    auto producer = [&]() -> asio::awaitable<void> {
        // The consumers start at the head, and are waiting when the writer begins.
        auto deadline = steady::now() + std::chrono::seconds(30) +
                        std::chrono::milliseconds(interval_ms) * static_cast<std::int64_t>(events);
        for (auto& r : receipts) {
            threads.emplace_back(consume, port, since, std::cref(run_id), deadline, std::ref(r), std::ref(failed));
        }
        asio::steady_timer timer(ioc);
        timer.expires_after(std::chrono::milliseconds(500));
        co_await timer.async_wait(asio::use_awaitable);
        try {
            for (std::size_t i = 0; i < events; ++i) {
                db::append_request req;
                core::change_event e;
                auto key = fmt::format("{}-{}", run_id, i);
                e.event_id = core::make_event_id({"latency", key});
                e.source = "latency";
                e.source_kind = "precoro";
                e.resource = "invoices";
                e.resource_id = key;
                e.operation = "update";
                e.occurred_at = "2026-11-20T09:15:02.123Z";
                req.events.push_back(std::move(e));
                auto op = writer.append(std::move(req));
                co_await std::move(op);
                commits[i] = now_ns();
                timer.expires_after(std::chrono::milliseconds(interval_ms));
                co_await timer.async_wait(asio::use_awaitable);
            }
        } catch (const std::exception& e) {
            fmt::print(stderr, "writer failed: {}\n", e.what());
            writer_failed = true;
        }
        writer.stop();
    };
    asio::co_spawn(ioc, producer(), asio::detached);
    ioc.run();
    for (auto& t : threads) {
        t.join();
    }
    if (writer_failed || failed) {
        return 1;
    }

    std::vector<double> ms;
    std::size_t early = 0;
    std::size_t missing = 0;
    for (const auto& r : receipts) {
        for (std::size_t i = 0; i < events; ++i) {
            if (r[i] == 0 || commits[i] == 0) {
                ++missing;
                continue;
            }
            // A notification may reach the service before the acknowledgement reaches the writer.
            if (r[i] < commits[i]) {
                ++early;
            }
            ms.push_back(static_cast<double>(std::max<std::int64_t>(0, r[i] - commits[i])) / 1e6);
        }
    }
    if (ms.empty()) {
        fmt::print(stderr, "no receipt\n");
        return 1;
    }
    std::sort(ms.begin(), ms.end());
    auto at = [&ms](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))]; };
    fmt::print("receipts {}\nmissing {}\nbefore_ack {}\n", ms.size(), missing, early);
    fmt::print("latency_ms p50 {:.3f} p99 {:.3f} max {:.3f}\n", at(0.5), at(0.99), ms.back());
    return missing == 0 ? 0 : 1;
}
