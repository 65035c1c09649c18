//go:build linux

package powercut

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// opKind is the kind of one unsynced change.
type opKind int

const (
	opWrite  opKind = iota // ino, off, data
	opTrunc                // ino, size
	opLink                 // dir, name -> ent (create, mkdir, link, symlink, mknod)
	opUnlink               // dir, name (unlink, rmdir)
	opRename               // dir, name -> dir2, name2, ent
)

type entry struct {
	ino  uint64
	mode uint32 // the S_IFMT bits
}

type op struct {
	kind  opKind
	ino   uint64
	off   int64
	data  []byte
	size  int64
	dir   uint64
	name  string
	dir2  uint64
	name2 string
	ent   entry
}

func (o op) isDir() bool { return o.kind >= opLink }

// model is the durable image of one mount generation: for every file and
// directory changed since the mount, its durable content; the rest is
// durable as it is in the backing folder.
type model struct {
	mu      sync.Mutex
	tree    string // the backing folder's root (the mount shows it)
	rootIno uint64
	grave   string // keeps unlinked inodes alive, so inode numbers are never reused
	files   map[uint64][]byte
	dirs    map[uint64]map[string]entry
	log     []op
	// counts since the mount, for tests of the file system itself
	synced int
}

func newModel(tree, grave string) *model {
	return &model{tree: tree, grave: grave, files: map[uint64][]byte{}, dirs: map[uint64]map[string]entry{}}
}

// ensureFile records the durable content of ino before its first change
// in this generation, read from r (the live file).
func (m *model) ensureFile(ino uint64, read func() ([]byte, error)) error {
	if _, ok := m.files[ino]; ok {
		return nil
	}
	b, err := read()
	if err != nil {
		return err
	}
	m.files[ino] = b
	return nil
}

// ensureDir records the durable entries of the directory ino (at path in
// the backing folder) before its first change in this generation.
func (m *model) ensureDir(ino uint64, path string) error {
	if _, ok := m.dirs[ino]; ok {
		return nil
	}
	ents, err := readDir(path)
	if err != nil {
		return err
	}
	m.dirs[ino] = ents
	return nil
}

func readDir(path string) (map[string]entry, error) {
	des, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	ents := make(map[string]entry, len(des))
	for _, de := range des {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(path, de.Name()), &st); err != nil {
			return nil, err
		}
		ents[de.Name()] = entry{ino: st.Ino, mode: st.Mode & syscall.S_IFMT}
	}
	return ents, nil
}

func (m *model) apply(o op) {
	switch o.kind {
	case opWrite:
		b := m.files[o.ino]
		if end := o.off + int64(len(o.data)); end > int64(len(b)) {
			b = append(b, make([]byte, end-int64(len(b)))...)
		}
		copy(b[o.off:], o.data)
		m.files[o.ino] = b
	case opTrunc:
		b := m.files[o.ino]
		if o.size <= int64(len(b)) {
			b = b[:o.size:o.size]
		} else {
			b = append(b, make([]byte, o.size-int64(len(b)))...)
		}
		m.files[o.ino] = b
	case opLink:
		m.dirs[o.dir][o.name] = o.ent
	case opUnlink:
		delete(m.dirs[o.dir], o.name)
	case opRename:
		if e, ok := m.dirs[o.dir][o.name]; ok && e.ino == o.ent.ino {
			delete(m.dirs[o.dir], o.name)
		}
		m.dirs[o.dir2][o.name2] = o.ent
	}
}

// syncFile makes the file ino's changes durable.
func (m *model) syncFile(ino uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncWhere(func(o op) bool { return !o.isDir() && o.ino == ino })
}

// syncDir makes the entry changes of the directory ino durable.
func (m *model) syncDir(ino uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncWhere(func(o op) bool { return o.isDir() && (o.dir == ino || (o.kind == opRename && o.dir2 == ino)) })
}

func (m *model) syncWhere(match func(op) bool) {
	m.synced++
	kept := m.log[:0]
	for _, o := range m.log {
		if match(o) {
			m.apply(o)
		} else {
			kept = append(kept, o)
		}
	}
	for i := len(kept); i < len(m.log); i++ {
		m.log[i] = op{}
	}
	m.log = kept
}

// graveName is where the backing folder keeps the unlinked inode ino.
func (m *model) graveName(ino uint64) string {
	return filepath.Join(m.grave, strconv.FormatUint(ino, 10))
}

// bury keeps the inode at path (about to lose its name) alive under the
// grave, so its number is not reused and its content can still be read.
func (m *model) bury(path string, st *syscall.Stat_t) error {
	g := m.graveName(st.Ino)
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return os.Rename(path, g)
	}
	if _, err := os.Lstat(g); err == nil {
		return nil
	}
	return os.Link(path, g)
}

// materialize writes the durable image into the folder dst (which must
// not exist): the image's tree is dst/tree.
func (m *model) materialize(dst string) error {
	live := map[uint64]string{}
	err := filepath.Walk(m.tree, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if _, ok := live[st.Ino]; !ok {
			live[st.Ino] = p
		}
		return nil
	})
	if err != nil {
		return err
	}
	graves, err := os.ReadDir(m.grave)
	if err != nil {
		return err
	}
	for _, g := range graves {
		ino, err := strconv.ParseUint(g.Name(), 10, 64)
		if err != nil {
			return fmt.Errorf("powercut: stray file %s in the grave", g.Name())
		}
		if _, ok := live[ino]; !ok {
			live[ino] = filepath.Join(m.grave, g.Name())
		}
	}
	var rootSt syscall.Stat_t
	if err := syscall.Lstat(m.tree, &rootSt); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dst, "grave"), 0o755); err != nil {
		return err
	}
	out := filepath.Join(dst, "tree")
	if err := os.Mkdir(out, os.FileMode(rootSt.Mode&0o7777)); err != nil {
		return err
	}
	done := map[uint64]string{}
	var build func(ino uint64, out string) error
	build = func(ino uint64, out string) error {
		done[ino] = out
		ents, ok := m.dirs[ino]
		if !ok {
			p, ok := live[ino]
			if !ok {
				return fmt.Errorf("powercut: directory inode %d is neither changed nor in the backing folder", ino)
			}
			if ents, err = readDir(p); err != nil {
				return err
			}
		}
		for name, e := range ents {
			p := filepath.Join(out, name)
			if prev, ok := done[e.ino]; ok {
				if e.mode == syscall.S_IFDIR {
					continue // a directory named twice keeps its first name
				}
				if err := os.Link(prev, p); err != nil {
					return err
				}
				continue
			}
			src, haveLive := live[e.ino]
			var st syscall.Stat_t
			perm := uint32(0o644)
			if haveLive {
				if err := syscall.Lstat(src, &st); err != nil {
					return err
				}
				perm = st.Mode & 0o7777
			}
			switch e.mode {
			case syscall.S_IFDIR:
				if err := os.Mkdir(p, os.FileMode(perm)); err != nil {
					return err
				}
				if err := os.Chmod(p, os.FileMode(perm)); err != nil {
					return err
				}
				if err := build(e.ino, p); err != nil {
					return err
				}
				continue
			case syscall.S_IFREG:
				data, ok := m.files[e.ino]
				if !ok {
					if !haveLive {
						return fmt.Errorf("powercut: file inode %d (%s) is neither changed nor in the backing folder", e.ino, name)
					}
					if data, err = os.ReadFile(src); err != nil {
						return err
					}
				}
				if err := os.WriteFile(p, data, os.FileMode(perm)); err != nil {
					return err
				}
				if err := os.Chmod(p, os.FileMode(perm)); err != nil {
					return err
				}
			case syscall.S_IFLNK:
				target, err := os.Readlink(src)
				if err != nil {
					return err
				}
				if err := os.Symlink(target, p); err != nil {
					return err
				}
			default: // sockets, fifos, devices: the name survives
				if err := syscall.Mknod(p, e.mode|perm, int(st.Rdev)); err != nil {
					return err
				}
			}
			done[e.ino] = p
		}
		return nil
	}
	return build(rootSt.Ino, out)
}

// readAllFd reads the whole file behind fd without moving its offset.
func readAllFd(fd int) ([]byte, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, err
	}
	b := make([]byte, st.Size)
	for off := 0; off < len(b); {
		n, err := syscall.Pread(fd, b[off:], int64(off))
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return b[:off], nil
		}
		off += n
	}
	return b, nil
}
