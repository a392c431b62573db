package policy

import "slices"

// Resolver finds the body of a marking definition the node knows (stored or
// built in); it returns nil, nil for one it does not know.
type Resolver func(id string) ([]byte, error)

// Classify turns an object's marking references into policy facts (TLP,
// distribution, unknown markings). Where several TLP markings apply, the most
// restrictive wins; several distributions must all be passed, since a marking
// can only restrict. A marking the node cannot interpret is listed in
// Facts.Unknown rather than failing the object: the submitter still sees it.
// The error return is for failures of resolve itself.
func Classify(markingRefs []string, resolve Resolver) (Facts, error) {
	var f Facts
	for _, id := range markingRefs {
		body, err := resolve(id)
		if err != nil {
			return f, err
		}
		m, err := Interpret(id, body)
		if err != nil {
			f.Unknown = append(f.Unknown, id)
			continue
		}
		switch m.Kind {
		case KindTLP:
			if m.TLP > f.TLP {
				f.TLP = m.TLP
			}
		case KindDistribution:
			d := m.Distribution
			switch {
			case d.Resident != "":
				if !slices.Contains(f.Resident, d.Resident) {
					f.Resident = append(f.Resident, d.Resident)
				}
			case len(d.Recipients) > 0:
				f.Recipients = append(f.Recipients, d.Recipients...)
			default:
				// Groups named by several markings widen the audience
				// among groups; every other scope must also be passed.
				if d.Scope == ScopeGroup {
					f.Groups = append(f.Groups, d.Group)
				}
				if !slices.Contains(f.Scopes, d.Scope) {
					f.Scopes = append(f.Scopes, d.Scope)
				}
			}
		}
	}
	return f, nil
}
