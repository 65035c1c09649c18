package hub

// GroupCommits reports the group commit's transactions and the writes they
// held (benchmarks).
func GroupCommits(s *Store) (commits, writes uint64) {
	return s.gcCommits.Load(), s.gcWrites.Load()
}
