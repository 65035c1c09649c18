package wechat_test

import "crypto/tls"

// insecureTLS is only used to prove that New refuses it.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } //nolint:gosec
