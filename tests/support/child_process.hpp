// A child process for tests that kill the service hard (SIGKILL) and start it again.
#pragma once

#include <string>
#include <vector>

namespace changefeed::test {

class child_process {
public:
    /// Starts `program` with `args`; stderr goes to `log_path` (appended) when given.
    child_process(const std::string& program, const std::vector<std::string>& args,
                  const std::string& log_path = {});
    /// Kills the child (SIGKILL) if it still runs, and reaps it.
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    [[nodiscard]] int pid() const { return pid_; }
    /// Sends `signal`; false when the child is gone.
    bool signal(int signal) const;
    /// Waits for the child to end (at most `timeout_ms`); its exit status, or -1 on timeout,
    /// or 128 + signal when killed.
    int wait(int timeout_ms);

private:
    int pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
};

/// The changefeed executable built next to the tests.
std::string changefeed_binary();

/// The port a `changefeed serve` reports in its "listening" log line in `log_path`, waiting up
/// to `timeout_ms` for it to appear; 0 when it does not.
unsigned short wait_for_listening_port(const std::string& log_path, int timeout_ms);

}  // namespace changefeed::test
