// A scratch PostgreSQL database per test, on the server that scripts/test started
// (CHANGEFEED_TEST_PGHOST / CHANGEFEED_TEST_PGPORT / CHANGEFEED_TEST_PGUSER).
#pragma once

#include <string>

namespace changefeed::test {

/// True when the test server's coordinates are in the environment.
bool have_test_server();

/// Creates a fresh, empty database with a unique name; drops it on destruction.
class scratch_database {
public:
    scratch_database();
    ~scratch_database();
    scratch_database(const scratch_database&) = delete;
    scratch_database& operator=(const scratch_database&) = delete;

    /// libpq URI of the scratch database.
    [[nodiscard]] const std::string& url() const { return url_; }
    [[nodiscard]] const std::string& name() const { return name_; }

private:
    std::string name_;
    std::string url_;
};

/// libpq URI for database `dbname` on the test server.
std::string test_server_url(const std::string& dbname);

}  // namespace changefeed::test
