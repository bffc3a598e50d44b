package train

import (
	"math/rand/v2"
	"strings"
)

// A character is a story's hero or friend: a name with the pronouns that go
// with it.
type character struct {
	name, he, his, him string
}

var (
	girls = []string{"Lily", "Mia", "Anna", "Lucy", "Emma", "Zoe", "Sara", "Amy", "Ella", "Rosa", "Kim", "Jane", "Molly", "Daisy", "Nora", "Ruby"}
	boys  = []string{"Tom", "Ben", "Sam", "Max", "Jack", "Leo", "Tim", "Bob", "Finn", "Jake", "Joe", "Dan", "Ned", "Alex", "Toby", "Paul"}

	kids    = []string{"girl", "boy"}
	animals = []string{"cat", "dog", "bunny", "bird", "bear", "fox", "duck", "mouse", "frog", "puppy", "kitten", "pig"}

	sizeAdjs  = []string{"little", "small", "big", "tiny"}
	traitAdjs = []string{"happy", "kind", "curious", "brave", "shy", "funny", "friendly", "smart", "silly", "gentle"}
	colors    = []string{"red", "blue", "green", "yellow", "pink", "purple", "orange", "white", "brown"}

	// toys are objects a child can own, lose, share and break.
	toys = []string{"ball", "kite", "toy car", "teddy bear", "doll", "boat", "drum", "hat", "book", "truck", "balloon", "block", "crayon", "scarf", "train", "robot"}
	// treats are things to eat and share.
	treats = []string{"apple", "cookie", "cake", "banana", "sandwich", "pie", "candy", "orange", "muffin"}

	outPlaces = []string{"park", "garden", "forest", "beach", "farm", "lake", "hill", "field", "river", "playground", "woods", "meadow"}
	homes     = []string{"small house", "big house", "little town", "quiet village", "house by the sea", "cozy home"}
	rooms     = []string{"kitchen", "bedroom", "living room", "yard", "closet", "bathroom"}
	hideSpots = []string{"under the bed", "behind the door", "in the toy box", "under the table", "in the closet", "behind the chair", "under a big leaf", "next to a tree", "in the grass", "on the shelf"}

	activities = []string{"play with {hisT} ball", "draw pictures", "sing songs", "run in the park", "read books", "dance", "jump and play", "play outside", "look at the stars", "build with blocks", "swim in the lake", "help {hisT} mom"}
	goodFeels  = []string{"happy", "glad", "proud", "excited", "joyful"}
	badFeels   = []string{"sad", "upset", "worried", "scared", "angry"}
	weatherBad = []string{"it started to rain", "a strong wind came", "the sky got dark", "a big storm came"}
	weatherOK  = []string{"sunny", "bright", "warm", "nice", "beautiful"}
	parents    = []string{"mom", "dad"}
	hardTasks  = []struct{ want, did string }{
		{"climb the big tree", "climbed to the top of the tree"},
		{"ride {hisT} new bike", "rode {hisT} bike all the way down the road"},
		{"make a cake", "made a big cake"},
		{"fly {hisT} kite", "flew {hisT} kite high in the sky"},
		{"swim across the lake", "swam across the lake"},
		{"build a tall tower", "built a tall tower with {hisT} blocks"},
		{"catch the ball", "caught the ball"},
		{"jump over the log", "jumped over the log"},
	}
	weatherPlay = []struct{ act, fail string }{
		{"built a big sand castle", "Their castle fell down."},
		{"made a tall tower of sticks", "Their tower fell down."},
		{"had a picnic by the water", "Their picnic got wet."},
		{"played with a {color} ball", "The ball rolled away."},
		{"flew a {color} kite", "The kite flew away."},
	}
	stuckIn = []string{"stuck in a tree", "stuck in a hole", "caught in a bush", "stuck in the mud", "lost and alone"}
	noises  = []string{"a loud noise", "a strange sound", "a big bang", "a soft knock"}
	noiseIs = []string{"the wind", "the cat", "a little bird", "the rain", "an old tree", "the door"}
)

// storyGen expands one story's template text. It is not safe for
// concurrent use.
type storyGen struct {
	r    *rand.Rand
	vars map[string]string
}

func (g *storyGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *storyGen) character(exclude string) character {
	for {
		var c character
		if g.r.IntN(2) == 0 {
			c = character{name: g.pick(girls), he: "she", his: "her", him: "her"}
		} else {
			c = character{name: g.pick(boys), he: "he", his: "his", him: "him"}
		}
		if c.name != exclude {
			return c
		}
	}
}

// fixArticles turns "a" before a vowel-initial word into "an".
func fixArticles(s string) string {
	w := strings.Split(s, " ")
	for i := 0; i+1 < len(w); i++ {
		if (w[i] == "a" || w[i] == "A") && w[i+1] != "" && strings.ContainsRune("aeiou", rune(w[i+1][0])) {
			w[i] += "n"
		}
	}
	return strings.Join(w, " ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// expand substitutes {var} references and picks one alternative of each
// [a|b|c] group (groups do not nest; a var may expand to a group-free text
// that itself holds vars). A leading capital in the var name capitalizes
// the value: {He} is "She" when {he} is "she".
func (g *storyGen) expand(t string) string {
	var b strings.Builder
	for i := 0; i < len(t); {
		switch t[i] {
		case '[':
			j := strings.IndexByte(t[i:], ']') + i
			alts := strings.Split(t[i+1:j], "|")
			b.WriteString(g.expand(alts[g.r.IntN(len(alts))]))
			i = j + 1
		case '{':
			j := strings.IndexByte(t[i:], '}') + i
			name := t[i+1 : j]
			v, ok := g.vars[name]
			if !ok {
				v = capitalize(g.vars[strings.ToLower(name[:1])+name[1:]])
			}
			b.WriteString(g.expand(v))
			i = j + 1
		default:
			j := strings.IndexAny(t[i:], "[{")
			if j < 0 {
				j = len(t) - i
			}
			b.WriteString(t[i : i+j])
			i += j
		}
	}
	return b.String()
}

// intros open a story; they introduce {name}.
var intros = []string{
	"Once upon a time, there was a {trait} {kind} named {name}.",
	"Once upon a time, there was a {size} {kind} named {name}. {He} was very {trait}.",
	"Once upon a time, in a {home}, there lived a {trait} {kind} named {name}.",
	"Once upon a time, a {size} {kind} named {name} lived in a {home}.",
	"Once upon a time, there was a {kind} named {name} who lived in a {home}.",
}

// middles are one sentence about the hero before the plot starts.
var middles = []string{
	"{He} loved to {activity}.",
	"{Name} liked to {activity} every day.",
	"{He} had a {color} {toy} that {he} loved very much.",
	"{Name} loved to {activity} with {his} friend {friend}.",
	"Every day, {name} would {activity}.",
}

// plots are the stories' bodies, each a small cause and effect arc.
var plots = []string{
	// A lost toy is found with a friend's help.
	"One day, {name} could not find {his} {color} {toy}. {He} looked in the {room} and {hide1}, but it was not there. {Name} felt {bad}. Then {friend} came and said, \"[Do not be sad|Do not worry], {name}. I will help you look!\" They looked together for a long time. At last, {friend} found the {toy} {hide2}. {Name} was so {good}. \"Thank you, {friend}!\" {he} said. [From that day on, {name} always put {his} {toy} in a safe place.|{Name} and {friend} played with the {toy} all day.|{Name} gave {friend} a big hug.]",
	// Sharing a treat.
	"One day, {name} had a big {treat}. {Friend} saw the {treat} and wanted some too. At first, {name} did not want to share. But then {he} saw that {friend} was {bad}. {Name} said, \"You can have half of my {treat}.\" {Friend} smiled and said, \"Thank you, {name}! You are a good friend.\" They ate the {treat} together [under a tree|in the {outplace}|on a big rock]. {Name} felt {good}. {He} learned that sharing makes everyone happy.",
	// Sharing a toy.
	"One day, {name} went to the {outplace} with {his} {color} {toy}. There {he} met {friend}. {Friend} did not have a toy. {Friend} asked, \"Can I play with your {toy}?\" {Name} thought about it and said, \"Yes, we can play together!\" They played with the {toy} all day and had lots of fun. When the sun went down, {name} and {friend} went home. They were both very {good}.",
	// A noise at night.
	"One night, {name} heard {noise} [outside|at the window|in the {room}]. {He} was scared. {He} went to {his} {parent} and said, \"{Parent}, I am scared. What is that sound?\" {His} {parent} gave {him} a hug and said, \"Do not worry, it is only {noiseis}.\" {Name} felt better. {He} went back to bed and had a good sleep.",
	// Helping an animal.
	"One day, {name} went to the {outplace}. There {he} saw a {size} {animal} that was {stuck}. The {animal} was {bad}. {Name} wanted to help. {He} [used a long stick|asked {his} {parent} for help|reached out {his} hands|moved very slowly] and helped the {animal}. The {animal} was free! It [jumped up and down|made a happy sound|ran around {name}|stayed with {name} all day]. {Name} felt {good} because {he} helped a friend.",
	// Bad weather ruins a game; a friend cheers the hero up.
	"One {weather} day, {name} and {friend} went to the {outplace}. They {wact}. Suddenly, {weatherbad}. {wfail} {Name} felt {bad}. But {friend} said, \"Do not be sad, {name}. We can try again tomorrow!\" The next day, the sun was out. They went back to the {outplace} and had even more fun than before.",
	// Trying something hard.
	"One day, {name} wanted to {want}. {He} tried, but it was too hard. {He} fell down and felt {bad}. {His} {parent} said, \"Do not give up, {name}. Try again, you can do it!\" So {name} tried again and again. At last, {he} {did}! {Name} was very {good}. {He} smiled and said, \"I did it!\"",
	// Not listening, with a consequence.
	"One day, {name} saw a [shiny|pretty|big] {color} [cup|vase|plate|lamp] on the table. {His} {parent} said, \"Please do not touch it, {name}.\" But {name} did not listen. {He} touched it and it fell down and broke. {Name} felt {bad}. {He} went to {his} {parent} and said, \"I am sorry, {parent}.\" {His} {parent} hugged {him} and said, \"It is okay. Next time, please listen.\" {Name} learned to listen to {his} {parent}.",
	// Meeting a new friend.
	"One day, {name} went to the {outplace}. There {he} saw a {size} {animal}. The {animal} looked {bad}. {Name} asked, \"Why are you {bad}?\" The {animal} said, \"I have no friends.\" {Name} smiled and said, \"I will be your friend!\" The {animal} was so {good}. They [played all day|ran and jumped together|sang songs together|looked for flowers]. From that day on, {name} and the {animal} were best friends.",
	// A surprise for a parent.
	"One day, {name} wanted to make a surprise for {his} {parent}. {He} asked {friend} to help. They [drew a big picture|picked some pretty flowers|made a card|baked a cake] together. When {his} {parent} came home, {name} said, \"Surprise!\" {His} {parent} was so {good}. \"Thank you, {name}. I love it!\" {his} {parent} said. {Name} felt warm and happy inside.",
}

// endings close a story.
var endings = []string{
	"",
	" The end.",
	" {Name} had a very good day.",
	" It was a happy day for {name}.",
}

// Story returns one story generated from r.
func Story(r *rand.Rand) string {
	g := &storyGen{r: r}
	hero := g.character("")
	friend := g.character(hero.name)
	kind := g.pick(kids)
	if hero.he == "she" {
		kind = "girl"
	} else {
		kind = "boy"
	}
	if r.IntN(3) == 0 {
		kind = g.pick(animals)
	}
	task := hardTasks[r.IntN(len(hardTasks))]
	play := weatherPlay[r.IntN(len(weatherPlay))]
	hide1 := g.pick(hideSpots)
	hide2 := g.pick(hideSpots)
	for hide2 == hide1 {
		hide2 = g.pick(hideSpots)
	}
	g.vars = map[string]string{
		"name":       hero.name,
		"he":         hero.he,
		"his":        hero.his,
		"him":        hero.him,
		"hisT":       hero.his,
		"friend":     friend.name,
		"kind":       kind,
		"trait":      g.pick(traitAdjs),
		"size":       g.pick(sizeAdjs),
		"home":       g.pick(homes),
		"color":      g.pick(colors),
		"toy":        g.pick(toys),
		"treat":      g.pick(treats),
		"outplace":   g.pick(outPlaces),
		"room":       g.pick(rooms),
		"hide1":      hide1,
		"hide2":      hide2,
		"activity":   g.pick(activities),
		"good":       g.pick(goodFeels),
		"bad":        g.pick(badFeels),
		"weather":    g.pick(weatherOK),
		"weatherbad": g.pick(weatherBad),
		"parent":     g.pick(parents),
		"animal":     g.pick(animals),
		"stuck":      g.pick(stuckIn),
		"noise":      g.pick(noises),
		"noiseis":    g.pick(noiseIs),
		"wact":       play.act,
		"wfail":      play.fail,
		"want":       task.want,
		"did":        task.did,
	}
	var b strings.Builder
	b.WriteString(g.expand(g.pick(intros)))
	if r.IntN(4) != 0 {
		b.WriteString(" ")
		b.WriteString(g.expand(g.pick(middles)))
	}
	b.WriteString(" ")
	b.WriteString(g.expand(g.pick(plots)))
	b.WriteString(g.expand(g.pick(endings)))
	return fixArticles(b.String())
}

// Corpus is a generated set of stories split into training and validation
// parts.
type Corpus struct {
	Train, Val []string
}

// GenerateCorpus returns n stories from seed, the last valFrac of them
// held out for validation. The same arguments always give the same corpus.
func GenerateCorpus(seed uint64, n int, valFrac float64) Corpus {
	r := rand.New(rand.NewPCG(seed, 0x5eed5eed))
	all := make([]string, n)
	for i := range all {
		all[i] = Story(r)
	}
	nv := int(float64(n) * valFrac)
	if valFrac > 0 && nv == 0 && n > 1 {
		nv = 1
	}
	return Corpus{Train: all[:n-nv], Val: all[n-nv:]}
}
