#include "db/outbox_writer.hpp"

#include "core/log.hpp"
#include "core/time.hpp"
#include "db/pg_pool.hpp"
#include "db/sql.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <deque>
#include <unordered_set>

namespace changefeed::db {

namespace asio = boost::asio;

namespace {

struct slot {
    explicit slot(asio::any_io_executor ex) : done_signal(ex, asio::steady_timer::time_point::max()) {}
    append_request request;
    append_result result;
    std::exception_ptr failure;
    bool done = false;
    asio::steady_timer done_signal;
};

using slot_ptr = std::shared_ptr<slot>;

// Commits `batch` in one transaction and fills each slot's result. Runs on the database thread.
std::int64_t commit_batch(pqxx::connection_base& conn, const std::vector<slot_ptr>& batch) {
    std::string recorded_at = time::format_rfc3339(time::now());
    boost::json::array rows;
    for (const auto& s : batch) {
        for (const auto& e : s->request.events) {
            boost::json::object row;
            row["event_id"] = e.event_id;
            row["source"] = e.source;
            row["source_kind"] = e.source_kind;
            row["resource"] = e.resource;
            row["resource_id"] = e.resource_id;
            row["operation"] = e.operation;
            row["occurred_at"] = e.occurred_at;
            row["recorded_at"] = recorded_at;
            row["payload"] = core::to_payload(e, recorded_at);
            rows.push_back(std::move(row));
        }
    }
    pqxx::work tx(conn);
    tx.exec_params(std::string(sql::k_lock_outbox), sql::k_outbox_lock_key);
    std::unordered_multiset<std::string> inserted_ids;
    std::int64_t head = 0;
    if (!rows.empty()) {
        auto result = tx.exec_params(std::string(sql::k_insert_events), boost::json::serialize(rows));
        for (const auto& r : result) {
            head = std::max(head, r[0].as<std::int64_t>());
            inserted_ids.insert(r[1].as<std::string>());
        }
    }
    for (const auto& s : batch) {
        for (const auto& c : s->request.checkpoints) {
            tx.exec_params(std::string(sql::k_upsert_checkpoint), c.source, c.scope,
                           boost::json::serialize(c.checkpoint));
        }
        if (s->request.extra) {
            s->request.extra(tx);
        }
    }
    if (head > 0) {
        tx.exec_params(std::string(sql::k_notify_outbox), std::to_string(head));
    }
    tx.commit();
    for (const auto& s : batch) {
        s->result = {};
        for (const auto& e : s->request.events) {
            auto it = inserted_ids.find(e.event_id);
            if (it != inserted_ids.end()) {
                inserted_ids.erase(it);
                ++s->result.inserted;
            } else {
                ++s->result.duplicates;
            }
        }
        s->result.head_seq = head;
    }
    return head;
}

}  // namespace

struct outbox_writer::impl {
    impl(asio::any_io_executor ex, std::string url, std::size_t max_batch)
        : executor(ex), pool(std::move(url), 1), wake(ex, asio::steady_timer::time_point::max()),
          max_batch_events(max_batch) {}

    asio::any_io_executor executor;
    pg_pool pool;
    asio::steady_timer wake;
    std::size_t max_batch_events;
    std::deque<slot_ptr> queue;
    bool stopping = false;
    std::uint64_t commit_count = 0;
    std::function<void(std::int64_t)> commit_callback;

    std::vector<slot_ptr> take_batch() {
        std::vector<slot_ptr> batch;
        std::size_t events = 0;
        while (!queue.empty() &&
               (batch.empty() || events + queue.front()->request.events.size() <= max_batch_events)) {
            events += queue.front()->request.events.size();
            batch.push_back(std::move(queue.front()));
            queue.pop_front();
        }
        return batch;
    }

    asio::awaitable<void> write(std::vector<slot_ptr> batch) {
        std::exception_ptr failure;
        std::int64_t head = 0;
        try {
            auto job = [&batch](pqxx::connection_base& conn) { return commit_batch(conn, batch); };
            head = co_await pool.run(std::move(job));
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure && batch.size() > 1) {
            // One request's bad write must not fail its neighbours: retry each alone.
            for (auto& s : batch) {
                std::vector<slot_ptr> single{s};
                co_await write(std::move(single));
            }
            co_return;
        }
        ++commit_count;
        for (auto& s : batch) {
            s->failure = failure;
            s->done = true;
            s->done_signal.cancel();
        }
        if (!failure && head > 0 && commit_callback) {
            commit_callback(head);
        }
    }
};

outbox_writer::outbox_writer(asio::any_io_executor ex, std::string database_url,
                             std::size_t max_batch_events)
    : impl_(std::make_shared<impl>(ex, std::move(database_url), max_batch_events)) {}

outbox_writer::~outbox_writer() = default;

asio::awaitable<append_result> outbox_writer::append(append_request req) {
    auto s = std::make_shared<slot>(impl_->executor);
    s->request = std::move(req);
    impl_->queue.push_back(s);
    impl_->wake.cancel();
    while (!s->done) {
        auto [ec] = co_await s->done_signal.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec && ec != asio::error::operation_aborted) {
            throw boost::system::system_error(ec);
        }
        // A cancelled caller (shutdown) stops waiting; its request still gets written.
        if (!s->done && (co_await asio::this_coro::cancellation_state).cancelled() !=
                            asio::cancellation_type::none) {
            throw boost::system::system_error(asio::error::operation_aborted);
        }
    }
    if (s->failure) {
        std::rethrow_exception(s->failure);
    }
    co_return s->result;
}

asio::awaitable<void> outbox_writer::run() {
    auto self = impl_;
    for (;;) {
        if (self->queue.empty()) {
            if (self->stopping) {
                break;
            }
            self->wake.expires_at(asio::steady_timer::time_point::max());
            auto [ec] = co_await self->wake.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;
            continue;
        }
        auto batch = self->take_batch();
        co_await self->write(std::move(batch));
    }
    self->pool.stop();
}

void outbox_writer::stop() {
    impl_->stopping = true;
    impl_->wake.cancel();
}

void outbox_writer::on_commit(std::function<void(std::int64_t)> callback) {
    impl_->commit_callback = std::move(callback);
}

std::uint64_t outbox_writer::commits() const { return impl_->commit_count; }

}  // namespace changefeed::db
