// The whole service, in-process on its own thread and io_context, on 127.0.0.1:0.
#pragma once

#include "app/config.hpp"

#include <memory>
#include <string>
#include <vector>

namespace changefeed::test {

class running_service {
public:
    /// Starts the service with `config` (listen is forced to 127.0.0.1:0); throws if start fails.
    explicit running_service(app::app_config config);
    /// Stops it gracefully and joins its thread.
    ~running_service();

    [[nodiscard]] unsigned short port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// A configuration loaded through the real loader (defaults and validation included): the
/// database, `sources_yaml` as the items of `sources:`, and the given feed tokens. Throws
/// std::runtime_error with the loader's message when the YAML is invalid.
app::app_config config_with_sources(const std::string& database_url, const std::string& sources_yaml,
                                    const std::vector<std::string>& tokens = {});

}  // namespace changefeed::test
