package dashboard

// CatalogueKeys are every key of either language.
func CatalogueKeys() []string {
	seen := map[string]bool{}
	var ks []string
	for _, m := range catalogue {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				ks = append(ks, k)
			}
		}
	}
	return ks
}

// HasWord reports whether lang has key.
func HasWord(lang, key string) bool { _, ok := catalogue[lang][key]; return ok }
