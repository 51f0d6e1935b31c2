// Which replica polls a source (SPEC section 7): a PostgreSQL session-level advisory lock per
// source, held on one dedicated connection of this process. When that session ends (the process
// died, the database restarted) the locks are gone and another replica can take the sources over.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace changefeed::db {

class source_lease {
public:
    explicit source_lease(std::string database_url);
    ~source_lease();
    source_lease(const source_lease&) = delete;
    source_lease& operator=(const source_lease&) = delete;

    enum class state {
        held,            ///< on a session that is still alive, or just taken
        held_elsewhere,  ///< another session holds it
        unreachable,     ///< the database could not be asked
    };
    /// Whether this process holds `source` now (taking it when free). Never throws for
    /// database errors.
    boost::asio::awaitable<state> hold(std::string source);

    /// Gives `source` up (graceful shutdown), so another replica need not wait for our session.
    boost::asio::awaitable<void> release(std::string source);

    /// Closes the connection: every lock of this process is released. Blocks until done.
    void stop();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

/// The advisory-lock key of a source (stable across versions and replicas).
long long source_lock_key(const std::string& source);

}  // namespace changefeed::db
