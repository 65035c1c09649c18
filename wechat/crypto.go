package wechat

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// This file holds the cryptography of WeChat's event push: the SHA-1
// signatures and the AES-256-CBC "safe mode" envelope.

// cryptoBlock is the PKCS#7 block size WeChat pads to (not AES's 16).
const cryptoBlock = 32

// maxCipherText bounds what Decrypt accepts before it allocates anything.
const maxCipherText = 1 << 20

// Signature is WeChat's push signature: the hex SHA-1 of token, timestamp,
// nonce (and, for msg_signature, the Encrypt text) sorted and joined.
func Signature(token, timestamp, nonce string, encrypt ...string) string {
	parts := append([]string{token, timestamp, nonce}, encrypt...)
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// signatureEqual compares two hex signatures in constant time (case-blind,
// as some gateways upper-case hex).
func signatureEqual(got, want string) bool {
	g := []byte(strings.ToLower(got))
	return subtle.ConstantTimeCompare(g, []byte(want)) == 1
}

// AESKey is a 32-byte safe-mode key decoded from a 43-character
// EncodingAESKey.
type AESKey [32]byte

// ParseEncodingAESKey decodes the 43-character EncodingAESKey of the WeChat
// admin console: AESKey = base64(EncodingAESKey + "="). The error never
// contains the key.
func ParseEncodingAESKey(s string) (AESKey, error) {
	var k AESKey
	if len(s) != 43 {
		return k, fmt.Errorf("EncodingAESKey must be 43 characters, got %d: copy it again from the WeChat admin console", len(s))
	}
	b, err := base64.StdEncoding.DecodeString(s + "=")
	if err != nil || len(b) != 32 {
		return k, errors.New("EncodingAESKey is not valid base64 (A-Z, a-z, 0-9, +, /): copy it again from the WeChat admin console")
	}
	copy(k[:], b)
	return k, nil
}

// EncryptMessage seals msg for appID in WeChat's safe-mode format:
// base64(AES-256-CBC(key, iv=key[:16], PKCS#7-32(16 random | len32be | msg | appID))).
// random supplies the 16 random bytes (crypto/rand when nil).
func EncryptMessage(key AESKey, appID string, msg []byte, random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	n := 16 + 4 + len(msg) + len(appID)
	pad := cryptoBlock - n%cryptoBlock
	plain := make([]byte, n+pad)
	if _, err := io.ReadFull(random, plain[:16]); err != nil {
		return "", fmt.Errorf("encrypt push: random: %w", err)
	}
	binary.BigEndian.PutUint32(plain[16:20], uint32(len(msg)))
	copy(plain[20:], msg)
	copy(plain[20+len(msg):], appID)
	for i := n; i < len(plain); i++ {
		plain[i] = byte(pad)
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return "", fmt.Errorf("encrypt push: %w", err)
	}
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain), nil
}

// errDecrypt is the cause of every decryption failure; the message never
// carries key material or plaintext.
var errDecrypt = errors.New("cannot decrypt Encrypt: wrong EncodingAESKey or corrupt ciphertext")

// DecryptMessage opens a safe-mode Encrypt value and returns the message and
// the AppID found after it. It does not check the AppID: callers compare it
// with theirs (PushCodec does).
func DecryptMessage(key AESKey, encrypt string) (msg []byte, appID string, err error) {
	if len(encrypt) > maxCipherText*4/3+4 {
		return nil, "", errDecrypt
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encrypt))
	if err != nil || len(data) < cryptoBlock || len(data)%aes.BlockSize != 0 {
		return nil, "", errDecrypt
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, "", errDecrypt
	}
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(data, data)
	pad := int(data[len(data)-1])
	if pad < 1 || pad > cryptoBlock || pad > len(data) {
		return nil, "", errDecrypt
	}
	if !bytes.Equal(data[len(data)-pad:len(data)-1], bytes.Repeat([]byte{byte(pad)}, pad-1)) {
		return nil, "", errDecrypt
	}
	data = data[:len(data)-pad]
	if len(data) < 20 {
		return nil, "", errDecrypt
	}
	n := binary.BigEndian.Uint32(data[16:20])
	if uint64(n) > uint64(len(data)-20) {
		return nil, "", errDecrypt
	}
	msg = data[20 : 20+int(n)]
	return bytes.Clone(msg), string(data[20+int(n):]), nil
}
