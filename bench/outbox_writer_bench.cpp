// Outbox writer throughput: N concurrent producers each appending single events, awaiting every
// commit, for a fixed duration. Prints "events_per_second <n>" and the commits it took.
#include "db/migrations.hpp"
#include "db/outbox_writer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace asio = boost::asio;
using namespace changefeed;

int main(int argc, char** argv) {
    if (argc < 2) {
        fmt::print(stderr, "usage: outbox_writer_bench DATABASE_URL [producers=64] [seconds=10] [lanes=2] [spread=measured|always|never]\n");
        return 2;
    }
    std::string url = argv[1];
    int producers = argc > 2 ? std::atoi(argv[2]) : 64;
    int seconds = argc > 3 ? std::atoi(argv[3]) : 10;
    db::outbox_writer_options options;
    if (argc > 4) {
        options.lanes = static_cast<std::size_t>(std::atoi(argv[4]));
    }
    if (argc > 5) {
        std::string spread = argv[5];
        options.spread = spread == "always"  ? db::outbox_writer_options::spreading::always
                         : spread == "never" ? db::outbox_writer_options::spreading::never
                                             : db::outbox_writer_options::spreading::measured;
    }
    db::apply_migrations(url);
    asio::io_context ioc{1};
    db::outbox_writer writer(ioc.get_executor(), url, options);
    asio::co_spawn(ioc, writer.run(), asio::detached);
    auto start = std::chrono::steady_clock::now();
    auto end = start + std::chrono::seconds(seconds);
    long long stored = 0;
    int running = producers;
    auto run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    // Coroutine lambdas keep their captures in the lambda object, not the frame: pass by parameter.
    auto producer = [&](int p) -> asio::awaitable<void> {
            for (long long i = 0; std::chrono::steady_clock::now() < end; ++i) {
                db::append_request req;
                core::change_event e;
                auto key = fmt::format("{}-{}-{}", run_id, p, i);
                e.event_id = core::make_event_id({"bench", key});
                e.source = "bench";
                e.source_kind = "precoro";
                e.resource = "invoices";
                e.resource_id = key;
                e.operation = "update";
                e.occurred_at = "2026-11-20T09:15:02.123Z";
                e.upstream = boost::json::object{{"id", i}, {"type", 3}, {"action", 1}};
                req.events.push_back(std::move(e));
                auto r = co_await writer.append(std::move(req));
                stored += static_cast<long long>(r.inserted);
            }
            if (--running == 0) {
                writer.stop();
            }
    };
    for (int p = 0; p < producers; ++p) {
        asio::co_spawn(ioc, producer(p), asio::detached);
    }
    ioc.run();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto st = writer.stats();
    double commits = st.commits == 0 ? 1.0 : static_cast<double>(st.commits);
    fmt::print("events {}\nseconds {:.2f}\ncommits {}\nevents_per_second {:.0f}\n", stored, elapsed,
               st.commits, stored / elapsed);
    fmt::print("events_per_commit {:.1f}\nsplit_bursts {}\n", static_cast<double>(st.events) / commits,
               st.split_bursts);
    fmt::print("ms_per_commit insert {:.3f} call {:.3f} round_trip {:.3f}\n",
               st.insert_seconds * 1e3 / commits, st.call_seconds * 1e3 / commits,
               st.round_trip_seconds * 1e3 / commits);
    return 0;
}
