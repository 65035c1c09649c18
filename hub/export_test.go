package hub

// GroupCommits reports the group commit's transactions and the writes they
// held (benchmarks).
func GroupCommits(st Store) (commits, writes uint64) {
	s, ok := st.(*BoltStore)
	if !ok {
		return 0, 0
	}
	return s.gcCommits.Load(), s.gcWrites.Load()
}
