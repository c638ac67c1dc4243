package ws

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// extParse parses one header value and fails the test on error.
func extParse(t testing.TB, header string) []extension {
	t.Helper()
	exts, err := parseExtensions([]string{header})
	if err != nil {
		t.Fatalf("parseExtensions(%q): %v", header, err)
	}
	return exts
}

// ext builds an extension for the expected side of a table.
func extElem(name string, params ...extParam) extension { return extension{name: name, params: params} }

func extFlag(name string) extParam         { return extParam{name: name} }
func extKV(name, value string) extParam    { return extParam{name: name, value: value, hasValue: true} }
func extList(e ...extension) []extension   { return e }
func extHeaders(values ...string) []string { return values }
func extCfg(our, peer bool) deflateConfig  { return deflateConfig{our, peer} }

func TestParseExtensionsFollowsRFC6455Grammar(t *testing.T) {
	pmd := "permessage-deflate"
	tests := []struct {
		name    string
		headers []string
		want    []extension
	}{
		{"single extension without parameters", extHeaders(pmd), extList(extElem(pmd))},
		{"parameter without a value", extHeaders("permessage-deflate; client_max_window_bits"),
			extList(extElem(pmd, extFlag("client_max_window_bits")))},
		{"no whitespace at all", extHeaders("permessage-deflate;client_max_window_bits=10,foo;a;b=c"),
			extList(extElem(pmd, extKV("client_max_window_bits", "10")), extElem("foo", extFlag("a"), extKV("b", "c")))},
		{"OWS around ';', '=' and ','", extHeaders(" \tpermessage-deflate\t; client_max_window_bits = 10 ,\tfoo ;a ;  b\t=\tc \t"),
			extList(extElem(pmd, extKV("client_max_window_bits", "10")), extElem("foo", extFlag("a"), extKV("b", "c")))},
		{"quoted-string value is unquoted", extHeaders(`permessage-deflate; server_max_window_bits="10"`),
			extList(extElem(pmd, extKV("server_max_window_bits", "10")))},
		{"quoted-pair is unescaped", extHeaders(`x; a="1\5"; b="\t\o\k\e\n"`), extList(extElem("x", extKV("a", "15"), extKV("b", "token")))},
		{"quoted value of tchars", extHeaders(`x; a="!#$%&'*+-.^_|~09azAZ"; b=c`),
			extList(extElem("x", extKV("a", "!#$%&'*+-.^_|~09azAZ"), extKV("b", "c")))},
		{"empty list elements are skipped (RFC 7230 §7)", extHeaders(", ,permessage-deflate,, foo ,\t,"), extList(extElem(pmd), extElem("foo"))},
		{"empty header value is an empty list", extHeaders(""), nil},
		{"only whitespace and commas is an empty list", extHeaders(" , \t,"), nil},
		{"no header is an empty list", nil, nil},
		{"several header lines concatenate in order", extHeaders("a; x", "", "b; c=d, e"),
			extList(extElem("a", extFlag("x")), extElem("b", extKV("c", "d")), extElem("e"))},
		{"names keep their case", extHeaders("Permessage-Deflate; Client_Max_Window_Bits"),
			extList(extElem("Permessage-Deflate", extFlag("Client_Max_Window_Bits")))},
		{"all tchars form a token", extHeaders("!#$%&'*+-.^_`|~09azAZ; !#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~"),
			extList(extElem("!#$%&'*+-.^_`|~09azAZ", extKV("!#$%&'*+-.^_`|~", "!#$%&'*+-.^_`|~")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExtensions(tt.headers)
			if err != nil {
				t.Fatalf("parseExtensions(%q): %v", tt.headers, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseExtensions(%q)\n got %+v\nwant %+v", tt.headers, got, tt.want)
			}
		})
	}
}

func TestParseExtensionsRejectsMalformedLists(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"parameter without extension name", "; a", errExtSyntax},
		{"trailing ';' without parameter", "permessage-deflate;", errExtSyntax},
		{"empty parameter between ';'", "permessage-deflate;;client_max_window_bits", errExtSyntax},
		{"'=' without value", "permessage-deflate; server_max_window_bits=", errExtSyntax},
		{"'=' without value before ','", "permessage-deflate; server_max_window_bits= ,x", errExtSyntax},
		{"whitespace inside a name", "permessage deflate", errExtSyntax},
		{"whitespace inside a value", "x; a=1 0", errExtSyntax},
		{"second '='", "x; a=b=c", errExtSyntax},
		{"separator in a name", "permessage/deflate", errExtSyntax},
		{"separator in a value", "x; a=b/c", errExtSyntax},
		{"quoted extension name", `"permessage-deflate"`, errExtSyntax},
		{"quoted parameter name", `x; "a"=b`, errExtSyntax},
		{"unterminated quoted-string", `x; a="10`, errExtSyntax},
		{"quoted-pair at the end", `x; a="10\`, errExtSyntax},
		{"control character in a quoted-string", "x; a=\"1\x000\"", errExtSyntax},
		{"control character after a name", "x\x00", errExtSyntax},
		{"CR LF inside the value", "x;\r\n a", errExtSyntax},
		{"non-ASCII in a name", "permessage-deflaté", errExtSyntax},
		{"text after a quoted-string", `x; a="b"c`, errExtSyntax},
		{"quoted value with a space is not a token", `x; a="1 0"`, errExtQuotedValue},
		{"empty quoted value is not a token", `x; a=""`, errExtQuotedValue},
		{"quoted value with a separator is not a token", `x; a="b,c"`, errExtQuotedValue},
		{"quoted value with obs-text is not a token", "x; a=\"\xe9\"", errExtQuotedValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExtensions([]string{"ok", tt.header})
			if !errors.Is(err, tt.want) {
				t.Fatalf("parseExtensions(%q) = %+v, %v; want error %v", tt.header, got, err, tt.want)
			}
			if got != nil {
				t.Errorf("parseExtensions(%q) returned %+v with its error", tt.header, got)
			}
		})
	}
}

func TestParseDeflateParamsValidatesRFC7692Parameters(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		isOffer bool
		want    deflateParams
		wantErr error
	}{
		{"no parameters", "permessage-deflate", false, deflateParams{}, nil},
		{"all four parameters", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
			false, deflateParams{true, true, 9, 10}, nil},
		{"parameters in any order", "permessage-deflate; client_max_window_bits=10; server_max_window_bits=9; client_no_context_takeover; server_no_context_takeover",
			false, deflateParams{true, true, 9, 10}, nil},
		{"client_max_window_bits without value in an offer", "permessage-deflate; client_max_window_bits", true,
			deflateParams{clientMaxWindowBits: -1}, nil},
		{"client_max_window_bits without value refused in a response", "permessage-deflate; client_max_window_bits", false,
			deflateParams{}, errExtMissingValue},
		{"server_max_window_bits without value refused in an offer", "permessage-deflate; server_max_window_bits", true,
			deflateParams{}, errExtMissingValue},
		{"server_max_window_bits without value refused in a response", "permessage-deflate; server_max_window_bits", false,
			deflateParams{}, errExtMissingValue},
		{"window bits 8 is the lower bound", "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8", false,
			deflateParams{serverMaxWindowBits: 8, clientMaxWindowBits: 8}, nil},
		{"window bits 15 is the upper bound", "permessage-deflate; server_max_window_bits=15; client_max_window_bits=15", true,
			deflateParams{serverMaxWindowBits: 15, clientMaxWindowBits: 15}, nil},
		{"quoted window bits", `permessage-deflate; server_max_window_bits="12"; client_max_window_bits="1\3"`, false,
			deflateParams{serverMaxWindowBits: 12, clientMaxWindowBits: 13}, nil},
		{"server window bits 7 out of range", "permessage-deflate; server_max_window_bits=7", true, deflateParams{}, errExtBadWindowBits},
		{"server window bits 16 out of range", "permessage-deflate; server_max_window_bits=16", true, deflateParams{}, errExtBadWindowBits},
		{"client window bits 7 out of range", "permessage-deflate; client_max_window_bits=7", true, deflateParams{}, errExtBadWindowBits},
		{"client window bits 16 out of range", "permessage-deflate; client_max_window_bits=16", false, deflateParams{}, errExtBadWindowBits},
		{"window bits 0 out of range", "permessage-deflate; client_max_window_bits=0", true, deflateParams{}, errExtBadWindowBits},
		{"window bits with a leading zero refused (RFC 7692 §7.1.2.1)", "permessage-deflate; server_max_window_bits=08", true, deflateParams{}, errExtBadWindowBits},
		{"window bits 015 refused", "permessage-deflate; client_max_window_bits=015", true, deflateParams{}, errExtBadWindowBits},
		{"window bits with a sign refused", "permessage-deflate; client_max_window_bits=+9", true, deflateParams{}, errExtBadWindowBits},
		{"window bits in hex refused", "permessage-deflate; client_max_window_bits=0xa", true, deflateParams{}, errExtBadWindowBits},
		{"window bits huge refused", "permessage-deflate; client_max_window_bits=18446744073709551625", true, deflateParams{}, errExtBadWindowBits},
		{"server_no_context_takeover with a value refused", "permessage-deflate; server_no_context_takeover=true", true, deflateParams{}, errExtUnexpectedValue},
		{"client_no_context_takeover with a quoted value refused", `permessage-deflate; client_no_context_takeover="1"`, false, deflateParams{}, errExtUnexpectedValue},
		{"duplicate server_no_context_takeover refused", "permessage-deflate; server_no_context_takeover; server_no_context_takeover", true, deflateParams{}, errExtDuplicateParam},
		{"duplicate client_no_context_takeover refused", "permessage-deflate; client_no_context_takeover; client_no_context_takeover", false, deflateParams{}, errExtDuplicateParam},
		{"duplicate server_max_window_bits refused even when equal", "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", true, deflateParams{}, errExtDuplicateParam},
		{"duplicate client_max_window_bits with and without value refused", "permessage-deflate; client_max_window_bits; client_max_window_bits=10", true, deflateParams{}, errExtDuplicateParam},
		{"unknown parameter refused", "permessage-deflate; x-foo", true, deflateParams{}, errExtUnknownParam},
		{"unknown parameter refused in a response", "permessage-deflate; mem_level=8", false, deflateParams{}, errExtUnknownParam},
		{"parameter names are case-sensitive", "permessage-deflate; Server_No_Context_Takeover", true, deflateParams{}, errExtUnknownParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := extParse(t, tt.header)
			got, err := parseDeflateParams(e[0], tt.isOffer)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("parseDeflateParams(%q, offer=%v) error %v, want %v", tt.header, tt.isOffer, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseDeflateParams(%q, offer=%v) = %+v, want %+v", tt.header, tt.isOffer, got, tt.want)
			}
		})
	}
}

func TestDeflateParamsStringRendersEachParameter(t *testing.T) {
	tests := []struct {
		p    deflateParams
		want string
	}{
		{deflateParams{}, "permessage-deflate"},
		{deflateParams{serverNoContextTakeover: true}, "permessage-deflate; server_no_context_takeover"},
		{deflateParams{clientNoContextTakeover: true}, "permessage-deflate; client_no_context_takeover"},
		{deflateParams{serverMaxWindowBits: 8}, "permessage-deflate; server_max_window_bits=8"},
		{deflateParams{clientMaxWindowBits: 15}, "permessage-deflate; client_max_window_bits=15"},
		{deflateParams{clientMaxWindowBits: -1}, "permessage-deflate; client_max_window_bits"},
		{deflateParams{true, true, 10, 12},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
		back, err := parseDeflateParams(extParse(t, tt.want)[0], true)
		if err != nil || back != tt.p {
			t.Errorf("%q parses back to %+v, %v; want %+v", tt.want, back, err, tt.p)
		}
	}
}

// Real clients' default offers, as they appear on the wire. Firefox offers the bare name;
// old iOS Safari offered only x-webkit-deflate-frame, which a test below skips.
const (
	offerChrome           = "permessage-deflate; client_max_window_bits" // Chromium
	offerFirefox          = "permessage-deflate"
	offerPythonWebsockets = "permessage-deflate; client_max_window_bits" // websockets: ClientPerMessageDeflateFactory()
	offerNodeWs           = "permessage-deflate; client_max_window_bits" // ws: PerMessageDeflate.offer() with default options
)

func TestNegotiateDeflateAcceptsFirstValidOffer(t *testing.T) {
	var (
		strict  = extCfg(true, true)   // the default: no context takeover either way
		relaxed = extCfg(false, false) // both sides keep their windows
	)
	tests := []struct {
		name   string
		offers string
		cfg    deflateConfig
		want   string // the response; "" for no agreement
	}{
		{"Chrome offer, default config", offerChrome, strict, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"Chrome offer, context takeover allowed", offerChrome, relaxed, "permessage-deflate"},
		{"Chrome offer, only our side resets", offerChrome, extCfg(true, false), "permessage-deflate; server_no_context_takeover"},
		{"Chrome offer, only the peer resets", offerChrome, extCfg(false, true), "permessage-deflate; client_no_context_takeover"},
		{"Firefox offer", offerFirefox, strict, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"Firefox offer, context takeover allowed", offerFirefox, relaxed, "permessage-deflate"},
		{"Python websockets default offer", offerPythonWebsockets, relaxed, "permessage-deflate"},
		{"Node ws default offer", offerNodeWs, strict, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"legacy x-webkit-deflate-frame skipped for the permessage-deflate that follows", "x-webkit-deflate-frame, " + offerChrome, relaxed, "permessage-deflate"},
		{"offered server_no_context_takeover is honoured", "permessage-deflate; server_no_context_takeover", relaxed,
			"permessage-deflate; server_no_context_takeover"},
		{"offered client_no_context_takeover is echoed", "permessage-deflate; client_no_context_takeover", relaxed,
			"permessage-deflate; client_no_context_takeover"},
		{"offered server_max_window_bits is echoed", "permessage-deflate; server_max_window_bits=10", relaxed,
			"permessage-deflate; server_max_window_bits=10"},
		{"offered server_max_window_bits=8 is echoed", "permessage-deflate; server_max_window_bits=8; client_max_window_bits", strict,
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8"},
		{"offered client_max_window_bits value is left out", "permessage-deflate; client_max_window_bits=12", relaxed, "permessage-deflate"},
		{"quoted values and whitespace", ` permessage-deflate ;server_max_window_bits = "11" ; client_no_context_takeover `, relaxed,
			"permessage-deflate; client_no_context_takeover; server_max_window_bits=11"},
		{"all parameters offered", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9",
			relaxed, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9"},
		{"unknown parameter declined and the next offer taken", "permessage-deflate; x-foo, permessage-deflate; client_max_window_bits=10", relaxed, "permessage-deflate"},
		{"duplicate parameter declined and the next offer taken",
			"permessage-deflate; server_max_window_bits=10; server_max_window_bits=10, permessage-deflate; server_max_window_bits=12", relaxed,
			"permessage-deflate; server_max_window_bits=12"},
		{"window bits 7 declined and the next offer taken", "permessage-deflate; server_max_window_bits=7, permessage-deflate", relaxed, "permessage-deflate"},
		{"window bits 16 declined and the next offer taken", "permessage-deflate; client_max_window_bits=16, permessage-deflate; client_no_context_takeover", relaxed,
			"permessage-deflate; client_no_context_takeover"},
		{"first acceptable offer wins over later ones", "permessage-deflate; server_max_window_bits=10, permessage-deflate", relaxed,
			"permessage-deflate; server_max_window_bits=10"},
		{"server_max_window_bits without value declined", "permessage-deflate; server_max_window_bits", relaxed, ""},
		{"value on a no_context_takeover declined", "permessage-deflate; server_no_context_takeover=1", relaxed, ""},
		{"every offer invalid", "permessage-deflate; server_max_window_bits=7, permessage-deflate; x, permessage-deflate; client_max_window_bits=08", strict, ""},
		{"only other extensions", "x-webkit-deflate-frame, foo; bar", strict, ""},
		{"extension names are case-sensitive", "Permessage-Deflate", strict, ""},
		{"no offer", "", strict, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := negotiateDeflate(extParse(t, tt.offers), tt.cfg)
			if ok != (tt.want != "") {
				t.Fatalf("negotiateDeflate(%q, %+v) ok = %v, want response %q", tt.offers, tt.cfg, ok, tt.want)
			}
			if ok && got.String() != tt.want {
				t.Errorf("negotiateDeflate(%q, %+v) responds %q, want %q", tt.offers, tt.cfg, got.String(), tt.want)
			}
			if !ok && got != (deflateParams{}) {
				t.Errorf("negotiateDeflate(%q, %+v) = %+v with ok false", tt.offers, tt.cfg, got)
			}
		})
	}
}

func TestDeflateOfferAsksForWhatConfigWants(t *testing.T) {
	tests := []struct {
		cfg  deflateConfig
		want string
	}{
		{extCfg(false, false), "permessage-deflate; client_max_window_bits"},
		{extCfg(true, false), "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
		{extCfg(false, true), "permessage-deflate; server_no_context_takeover; client_max_window_bits"},
		{extCfg(true, true), "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"},
	}
	for _, tt := range tests {
		got := deflateOffer(tt.cfg)
		if got != tt.want {
			t.Errorf("deflateOffer(%+v) = %q, want %q", tt.cfg, got, tt.want)
		}
		if _, err := parseDeflateParams(extParse(t, got)[0], true); err != nil {
			t.Errorf("deflateOffer(%+v) = %q is not a valid offer: %v", tt.cfg, got, err)
		}
	}
}

func TestAcceptDeflateResponseChecksAgainstOffer(t *testing.T) {
	strict, relaxed := extCfg(true, true), extCfg(false, false)
	tests := []struct {
		name     string
		response []string
		cfg      deflateConfig
		want     deflateParams
		wantOK   bool
		wantErr  error
	}{
		{"no extension means declined", nil, strict, deflateParams{}, false, nil},
		{"empty header means declined", extHeaders(""), strict, deflateParams{}, false, nil},
		{"bare permessage-deflate with takeover allowed", extHeaders("permessage-deflate"), relaxed, deflateParams{}, true, nil},
		{"our own server's default response", extHeaders("permessage-deflate; server_no_context_takeover; client_no_context_takeover"), strict,
			deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}, true, nil},
		{"Python websockets server default response", extHeaders("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"), relaxed,
			deflateParams{serverMaxWindowBits: 12, clientMaxWindowBits: 12}, true, nil},
		{"Python websockets server response to our default offer",
			extHeaders("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12"), strict,
			deflateParams{true, true, 12, 12}, true, nil},
		{"client_max_window_bits=8 limits our compressor", extHeaders("permessage-deflate; server_no_context_takeover; client_max_window_bits=8"), strict,
			deflateParams{serverNoContextTakeover: true, clientMaxWindowBits: 8}, true, nil},
		{"server_max_window_bits unasked is allowed", extHeaders("permessage-deflate; server_max_window_bits=10"), relaxed,
			deflateParams{serverMaxWindowBits: 10}, true, nil},
		{"client_no_context_takeover unasked makes us reset", extHeaders("permessage-deflate; client_no_context_takeover"), relaxed,
			deflateParams{clientNoContextTakeover: true}, true, nil},
		{"server_no_context_takeover unasked is allowed", extHeaders("permessage-deflate; server_no_context_takeover"), relaxed,
			deflateParams{serverNoContextTakeover: true}, true, nil},
		{"response split over lines with empty elements", extHeaders(" , ", "permessage-deflate ; server_no_context_takeover ,"), strict,
			deflateParams{serverNoContextTakeover: true}, true, nil},
		{"server_no_context_takeover missing when we asked for it", extHeaders("permessage-deflate"), strict, deflateParams{}, false, errExtTakeover},
		{"server_no_context_takeover missing, only peer side asked", extHeaders("permessage-deflate; client_no_context_takeover"), extCfg(false, true),
			deflateParams{}, false, errExtTakeover},
		{"client_max_window_bits without value refused", extHeaders("permessage-deflate; server_no_context_takeover; client_max_window_bits"), strict,
			deflateParams{}, false, errExtMissingValue},
		{"two elements refused", extHeaders("permessage-deflate; server_no_context_takeover, permessage-deflate; server_no_context_takeover"), strict,
			deflateParams{}, false, errExtTooMany},
		{"two elements over two lines refused", extHeaders("permessage-deflate", "permessage-deflate"), relaxed, deflateParams{}, false, errExtTooMany},
		{"an extension we did not offer refused", extHeaders("x-webkit-deflate-frame"), relaxed, deflateParams{}, false, errExtNotOffered},
		{"name in another case refused as not offered", extHeaders("Permessage-Deflate"), relaxed, deflateParams{}, false, errExtNotOffered},
		{"unknown parameter refused", extHeaders("permessage-deflate; server_no_context_takeover; x"), strict, deflateParams{}, false, errExtUnknownParam},
		{"duplicate parameter refused", extHeaders("permessage-deflate; server_no_context_takeover; server_no_context_takeover"), strict,
			deflateParams{}, false, errExtDuplicateParam},
		{"window bits 16 refused", extHeaders("permessage-deflate; server_max_window_bits=16"), relaxed, deflateParams{}, false, errExtBadWindowBits},
		{"window bits 7 refused", extHeaders("permessage-deflate; client_max_window_bits=7"), relaxed, deflateParams{}, false, errExtBadWindowBits},
		{"value on server_no_context_takeover refused", extHeaders("permessage-deflate; server_no_context_takeover=x"), strict,
			deflateParams{}, false, errExtUnexpectedValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exts, err := parseExtensions(tt.response)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := acceptDeflateResponse(exts, tt.cfg)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("acceptDeflateResponse(%q, %+v) error %v, want %v", tt.response, tt.cfg, err, tt.wantErr)
			}
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("acceptDeflateResponse(%q, %+v) = %+v, %v; want %+v, %v", tt.response, tt.cfg, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestDeflateNegotiationAgreesBothWays runs our client's offer through our server and its
// response back through our client, for every pair of configurations.
func TestDeflateNegotiationAgreesBothWays(t *testing.T) {
	for _, client := range []deflateConfig{extCfg(false, false), extCfg(false, true), extCfg(true, false), extCfg(true, true)} {
		for _, server := range []deflateConfig{extCfg(false, false), extCfg(false, true), extCfg(true, false), extCfg(true, true)} {
			offer := deflateOffer(client)
			sp, ok := negotiateDeflate(extParse(t, offer), server)
			if !ok {
				t.Errorf("server %+v declined offer %q", server, offer)
				continue
			}
			response := sp.String()
			cp, ok, err := acceptDeflateResponse(extParse(t, response), client)
			if err != nil || !ok {
				t.Errorf("client %+v refused response %q to %q: ok %v, %v", client, response, offer, ok, err)
				continue
			}
			if cp != sp {
				t.Errorf("client read %+v from %q, server meant %+v", cp, response, sp)
			}
			// Each side resets when it asked to or when the other side asked it to.
			if want := server.ourNoContextTakeover || client.peerNoContextTakeover; cp.serverNoContextTakeover != want {
				t.Errorf("client %+v, server %+v: server_no_context_takeover = %v, want %v", client, server, cp.serverNoContextTakeover, want)
			}
			if want := client.ourNoContextTakeover || server.peerNoContextTakeover; cp.clientNoContextTakeover != want {
				t.Errorf("client %+v, server %+v: client_no_context_takeover = %v, want %v", client, server, cp.clientNoContextTakeover, want)
			}
		}
	}
}

// extRender writes extensions back in the RFC 6455 §9.1 syntax, quoting every value.
func extRender(es []extension) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.name)
		for _, p := range e.params {
			b.WriteString("; ")
			b.WriteString(p.name)
			if p.hasValue {
				b.WriteString(`="`)
				b.WriteString(p.value)
				b.WriteString(`"`)
			}
		}
	}
	return b.String()
}

// FuzzParseExtensions checks that parsing never panics, yields only tokens, is the same for
// one header as for its two halves, and that every parameter set we accept renders (String)
// to a header that parses back to the same parameters.
func FuzzParseExtensions(f *testing.F) {
	f.Add(offerChrome, "")
	f.Add("permessage-deflate; server_no_context_takeover; client_max_window_bits=10", "x, y; z=\"1\"")
	f.Fuzz(func(t *testing.T, a, b string) {
		all, err := parseExtensions([]string{a, b})
		ea, erra := parseExtensions([]string{a})
		eb, errb := parseExtensions([]string{b})
		if (err == nil) != (erra == nil && errb == nil) {
			t.Fatalf("parse of two headers: %v; of each: %v, %v", err, erra, errb)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(all, append(ea, eb...)) {
			t.Fatalf("two headers parse to %+v, each to %+v and %+v", all, ea, eb)
		}
		if joined, err := parseExtensions([]string{a + "," + b}); err != nil || !reflect.DeepEqual(joined, all) {
			t.Fatalf("%q joined with %q parses to %+v, %v; apart to %+v", a, b, joined, err, all)
		}
		for _, e := range all {
			if !isToken(e.name) {
				t.Fatalf("extension name %q is not a token", e.name)
			}
			for _, p := range e.params {
				if !isToken(p.name) || p.hasValue != (p.value != "") || p.hasValue && !isToken(p.value) {
					t.Fatalf("parameter %+v is not token[=token]", p)
				}
			}
		}
		if len(all) > 0 {
			if back, err := parseExtensions([]string{extRender(all)}); err != nil || !reflect.DeepEqual(back, all) {
				t.Fatalf("%+v rendered as %q parses back to %+v, %v", all, extRender(all), back, err)
			}
		}
		for _, e := range all {
			for _, isOffer := range []bool{true, false} {
				p, err := parseDeflateParams(e, isOffer)
				if err != nil {
					continue
				}
				back := extParse(t, p.String())
				if len(back) != 1 || back[0].name != extPermessageDeflate {
					t.Fatalf("%+v renders as %q", p, p.String())
				}
				if q, err := parseDeflateParams(back[0], isOffer); err != nil || q != p {
					t.Fatalf("%+v renders as %q, which parses to %+v, %v", p, p.String(), q, err)
				}
			}
		}
		for _, cfg := range []deflateConfig{extCfg(false, false), extCfg(true, true)} {
			p, ok := negotiateDeflate(all, cfg)
			if !ok {
				continue
			}
			if p.clientMaxWindowBits != 0 || p.serverMaxWindowBits != 0 && (p.serverMaxWindowBits < 8 || p.serverMaxWindowBits > 15) {
				t.Fatalf("negotiated %+v", p)
			}
			if q, ok, err := acceptDeflateResponse(extParse(t, p.String()), deflateConfig{}); err != nil || !ok || q != p {
				t.Fatalf("response %q reads back as %+v, %v, %v", p.String(), q, ok, err)
			}
		}
		if p, ok, err := acceptDeflateResponse(all, extCfg(true, true)); ok {
			if err != nil || !p.serverNoContextTakeover || p.clientMaxWindowBits < 0 {
				t.Fatalf("accepted response %+v, %v", p, err)
			}
		}
	})
}
