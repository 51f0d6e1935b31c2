// TLS for tests: a private certificate authority made at test time with the openssl command line
// (no key is ever committed), and a TLS-terminating proxy on 127.0.0.1 in front of a plain HTTP
// server (a simulator), on its own thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace changefeed::test {

/// A certificate and its key, as PEM files.
struct tls_identity {
    std::string cert_file;
    std::string key_file;
};

/// A throwaway certificate authority in a fresh temporary directory (removed on destruction).
/// Throws std::runtime_error when openssl fails.
class test_pki {
public:
    test_pki();
    ~test_pki();
    test_pki(const test_pki&) = delete;
    test_pki& operator=(const test_pki&) = delete;

    /// The CA certificate: the trust anchor a client must be given (e.g. as SSL_CERT_FILE).
    [[nodiscard]] const std::string& ca_file() const { return ca_.cert_file; }
    /// A server certificate signed by this CA for `subject_alt_name` ("DNS:localhost",
    /// "IP:127.0.0.1").
    tls_identity issue(const std::string& subject_alt_name);
    /// A self-signed server certificate for `subject_alt_name`, trusted by nobody.
    tls_identity self_signed(const std::string& subject_alt_name);

private:
    std::filesystem::path dir_;
    tls_identity ca_;
    int issued_ = 0;
};

/// Accepts TLS on 127.0.0.1:<port> with `identity` and forwards the decrypted bytes both ways to
/// 127.0.0.1:`backend_port`. A client that refuses the certificate simply ends its connection.
class tls_proxy {
public:
    tls_proxy(const tls_identity& identity, unsigned short backend_port);
    ~tls_proxy();
    tls_proxy(const tls_proxy&) = delete;
    tls_proxy& operator=(const tls_proxy&) = delete;

    [[nodiscard]] unsigned short port() const;
    /// TLS handshakes that completed, and those the client broke off (refused the certificate).
    [[nodiscard]] int handshakes_completed() const;
    [[nodiscard]] int handshakes_failed() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace changefeed::test
