package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk meta page: a 16-byte page header, then magic, version,
// page size, flags, root bucket (16), freelist pgid, high-water pgid, txid,
// checksum (FNV-64a of the 56 bytes before it). Native byte order.
const (
	boltMagic   = 0xED0CDAED
	boltVersion = 2
	pageHdr     = 16
	metaLen     = 56
)

// preflight reads a file's two meta pages before bbolt maps it, so a
// truncated file (whose pages would lie beyond its end and fault the
// process on access) or a file that is not bbolt at all is refused with a
// clear error instead of crashing. It never writes.
func preflight(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	type meta struct {
		ok                 bool
		pageSize           uint32
		hwm, txid          uint64
		magicOK, versionOK bool
	}
	read := func(off int64) meta {
		buf := make([]byte, pageHdr+metaLen+8)
		if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return meta{}
		}
		m := buf[pageHdr:]
		bo := binary.NativeEndian
		var out meta
		out.magicOK = bo.Uint32(m[0:]) == boltMagic
		out.versionOK = bo.Uint32(m[4:]) == boltVersion
		out.pageSize = bo.Uint32(m[8:])
		out.hwm = bo.Uint64(m[40:])
		out.txid = bo.Uint64(m[48:])
		h := fnv.New64a()
		h.Write(m[:metaLen])
		out.ok = out.magicOK && out.versionOK && out.pageSize >= 512 && h.Sum64() == bo.Uint64(m[metaLen:])
		return out
	}
	m0 := read(0)
	if !m0.magicOK {
		return fmt.Errorf("not a bbolt file (no bbolt header)")
	}
	ps := m0.pageSize
	if ps < 512 || ps > 1<<16 {
		ps = uint32(os.Getpagesize())
	}
	m1 := read(int64(ps))
	best := m0
	if !m0.ok || (m1.ok && m1.txid > m0.txid) {
		best = m1
	}
	if !best.ok {
		return fmt.Errorf("both bbolt meta pages are damaged")
	}
	if need := int64(best.hwm) * int64(best.pageSize); size < need {
		return fmt.Errorf("file is truncated: %d bytes, its header says %d", size, need)
	}
	return nil
}
