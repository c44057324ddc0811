# Turns proto/schema/k8s.schema into C tables (see pbschema.h).
# Usage: awk -f gen_schema.awk k8s.schema karmada.schema columns.schema > k8s_schema.c
# columns.schema: "table LAYOUT" and "col" lines, the server-side Table
# columns of each table_layout (schemacols.h; format in that file).
# Messages whose fields are numbered have a protobuf form; messages whose
# fields are "-" are JSON only (custom and Karmada kinds) and come after all
# of those. "crd APIVERSION KIND MESSAGE" names a JSON-only kind
# (pbs_json_kinds; sch_crd_kinds for its OpenAPI schema).
# Fails (exit 1) on an unknown type, a duplicate field number or name, a
# reference to a message that is not defined, or inlining nested twice.
function fail(msg) { printf "%s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"; err = 1; exit 1 }
function cname(s) { gsub(/\./, "_", s); return s }
# A default= value as a JSON literal: bare text is a string for string
# fields and for int-or-string values that are not integers; anything else
# (numbers, true/false, {}, [..], {"k":"v"}) is JSON already.
function json_default(type, v) {
	if (v ~ /^"/) return v
	if (type == "string" || (type == "intstr.IntOrString" && v !~ /^-?[0-9]+$/)) return "\"" v "\""
	return v
}
function cstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
BEGIN { nm = 0; nk = 0; nc = 0; npb = -1 }
/^[ \t]*(#|$)/ { next }
# "-- text" at the end of a line is a description; returns the line before it.
function cut_desc(   i) {
	desc = ""
	i = index($0, " -- ")
	if (i) { desc = substr($0, i + 4); $0 = substr($0, 1, i - 1) }
	gsub(/\\/, "\\\\", desc); gsub(/"/, "\\\"", desc)
}
$1 == "message" {
	cut_desc()
	if ($2 in midx) fail("message " $2 " defined twice")
	cur = nm++; mname[cur] = $2; midx[$2] = cur; mspecial[cur] = "NONE"; matomic[cur] = 0; nf[cur] = 0
	mdesc[cur] = desc
	for (i = 3; i <= NF; i++) {
		if ($i == "atomic") { matomic[cur] = 1; continue }
		mspecial[cur] = toupper($i)
		if (mspecial[cur] !~ /^(TIME|MICROTIME|QUANTITY|INTSTR|RAW|FIELDSV1)$/) fail("unknown special " $i)
	}
	next
}
$1 == "kind" {
	if (npb >= 0) fail("a protobuf kind after JSON-only messages")
	kav[nk] = $2; kkind[nk] = $3; kmsg[nk] = $4; nk++
	# The kind's List: ListMeta and the items.
	l = nm++; mname[l] = $4 "List"; midx[mname[l]] = l; mspecial[l] = "NONE"; matomic[l] = 0; nf[l] = 2
	fnum[l, 0] = 1; fjson[l, 0] = "metadata"; ftype[l, 0] = "meta.ListMeta"; fflags[l, 0] = ""
	fnum[l, 1] = 2; fjson[l, 1] = "items"; ftype[l, 1] = "[]" $4; fflags[l, 1] = ""
	klist[nk - 1] = mname[l]
	next
}
$1 == "crd" {
	cav[nc] = $2; ckind[nc] = $3; cmsg[nc] = $4; nc++
	next
}
# Table columns (columns.schema): "table LAYOUT", then "col" lines.
$1 == "table" {
	if (NF != 2 || $2 !~ /^TL_[A-Z]+$/) fail("bad table line")
	if ($2 in tcols) fail("table " $2 " defined twice")
	tname[ntab++] = $2; tcols[$2] = 0; curtab = $2; cur = ""
	next
}
$1 == "col" {
	cut_desc()
	if (curtab == "") fail("col outside a table")
	if (NF < 5 || NF > 6) fail("col NAME TYPE PRIORITY SOURCE [DEFAULT]")
	if ($3 !~ /^(string|integer|boolean|date|number)$/) fail("unknown column type " $3)
	if ($4 !~ /^[0-9]$/) fail("bad column priority " $4)
	c = tcols[curtab]++
	cn = $2; gsub(/_/, " ", cn)
	cname_[curtab, c] = cn; ctype[curtab, c] = $3; cprio[curtab, c] = $4; cdesc[curtab, c] = desc
	if ($5 ~ /^\./) {
		csrc[curtab, c] = $5; cpath[curtab, c] = ""; carg[curtab, c] = NF == 6 ? $6 : ""
	} else {
		if (NF == 6) fail("a DEFAULT is for JSONPath columns; a formatter takes NAME:PATH:ARG")
		np = split($5, part, ":")
		if (np > 3 || part[1] !~ /^[a-z_]+$/) fail("bad column source " $5)
		csrc[curtab, c] = part[1]; cpath[curtab, c] = part[2]; carg[curtab, c] = part[3]; sub(/^\./, "", carg[curtab, c])
		# paths are written as JSONPaths; formatters take them dotted
		gsub(/(^|,)\./, ",", cpath[curtab, c]); sub(/^,/, "", cpath[curtab, c])
	}
	next
}
$1 ~ /^[0-9]+$/ || $1 == "-" {
	cut_desc()
	if (cur == "") fail("field outside a message")
	jsononly = ($1 == "-")
	if (jsononly && npb < 0) npb = cur
	if (jsononly && cur < npb) fail("a JSON-only field in a protobuf message")
	if (!jsononly && npb >= 0) fail("a numbered field after JSON-only messages")
	n = nf[cur]
	for (i = 0; i < n; i++) {
		if (!jsononly && fnum[cur, i] == $1) fail("field number " $1 " used twice in " mname[cur])
		if (fjson[cur, i] == $2) fail("field " $2 " defined twice in " mname[cur])
	}
	fnum[cur, n] = jsononly ? 0 : $1; fjson[cur, n] = $2; ftype[cur, n] = $3; fflags[cur, n] = ""; fkeys[cur, n] = ""
	fsince[cur, n] = 0; fenum[cur, n] = ""; freq[cur, n] = 0; fpres[cur, n] = 0; fdesc[cur, n] = desc
	fdef[cur, n] = ""; fdefroot[cur, n] = 0; fv[cur, n] = "0"; fmin[cur, n] = 0; fmax[cur, n] = 0; ffmt[cur, n] = ""
	for (i = 4; i <= NF; i++) {
		if ($i ~ /^keys=[A-Za-z0-9,]+$/) fkeys[cur, n] = substr($i, 6)
		else if ($i ~ /^(ptr|inline|set|atomic)$/) fflags[cur, n] = fflags[cur, n] " " $i
		else if ($i == "required") freq[cur, n] = 1
		else if ($i == "preserve") fpres[cur, n] = 1
		else if ($i ~ /^since=1\.[0-9]+$/) fsince[cur, n] = substr($i, 9) + 0
		else if ($i ~ /^enum=/) fenum[cur, n] = substr($i, 6)
		else if ($i == "req") fv[cur, n] = fv[cur, n] "|SCH_V_REQ"
		else if ($i == "nonempty") fv[cur, n] = fv[cur, n] "|SCH_V_NONEMPTY"
		else if ($i == "emptyok") fv[cur, n] = fv[cur, n] "|SCH_V_EMPTY_OK"
		else if ($i == "immutable") fv[cur, n] = fv[cur, n] "|SCH_V_IMMUTABLE"
		else if ($i ~ /^min=-?[0-9]+$/) { fv[cur, n] = fv[cur, n] "|SCH_V_MIN"; fmin[cur, n] = substr($i, 5) }
		else if ($i ~ /^max=-?[0-9]+$/) { fv[cur, n] = fv[cur, n] "|SCH_V_MAX"; fmax[cur, n] = substr($i, 5) }
		else if ($i ~ /^range=-?[0-9]+\.\.-?[0-9]+$/) {
			split(substr($i, 7), rg, /\.\./)
			fv[cur, n] = fv[cur, n] "|SCH_V_MIN|SCH_V_MAX|SCH_V_BETWEEN"; fmin[cur, n] = rg[1]; fmax[cur, n] = rg[2]
		}
		else if ($i ~ /^format=(dns1123label|dns1123subdomain|dns1035label|labelvalue)$/) ffmt[cur, n] = substr($i, 8)
		else if ($i ~ /^k?default=./) {
			fdefroot[cur, n] = ($i ~ /^k/)
			fdef[cur, n] = json_default($3, substr($i, index($i, "=") + 1))
		}
		else fail("unknown field flag " $i)
	}
	# An int32 with one bound has the other at the end of int32's range.
	if ($3 == "int32" && fv[cur, n] ~ /SCH_V_MIN/ && fv[cur, n] !~ /SCH_V_MAX/) { fv[cur, n] = fv[cur, n] "|SCH_V_MAX"; fmax[cur, n] = 2147483647 }
	if ($3 == "int32" && fv[cur, n] ~ /SCH_V_MAX/ && fv[cur, n] !~ /SCH_V_MIN/) { fv[cur, n] = fv[cur, n] "|SCH_V_MIN"; fmin[cur, n] = -2147483648 }
	if (fv[cur, n] ~ /MIN|MAX/ && $3 !~ /^(int32|int64|intstr\.IntOrString)$/) fail("min/max/range on a field that is not an integer: " $2)
	if ((fkeys[cur, n] != "" || fflags[cur, n] ~ /set|atomic/) && $3 !~ /^\[\]/) fail("list semantics on a field that is not a list: " $2)
	if (fkeys[cur, n] != "" && $3 ~ /^\[\](string|int32|int64|bool|bytes)$/) fail("keys= on a list of scalars: " $2)
	if (fflags[cur, n] ~ /set/ && $3 !~ /^\[\](string|int32|int64|bool)$/) fail("set on a list of objects: " $2)
	nf[cur] = n + 1
	next
}
{ fail("cannot parse: " $0) }
END {
	if (err) exit 1
	# An inline field's message has no inline fields itself (pbcodec's
	# name index covers one level).
	for (m = 0; m < nm; m++)
		for (i = 0; i < nf[m]; i++)
			if (fflags[m, i] ~ /inline/) {
				t = ftype[m, i]
				if (!(t in midx)) { FNR = 0; fail("inline field " mname[m] "." fjson[m, i] " is not a message") }
				im = midx[t]
				for (k = 0; k < nf[im]; k++)
					if (fflags[im, k] ~ /inline/) { FNR = 0; fail("inline field " mname[m] "." fjson[m, i] " has inline fields") }
			}
	print "/* Generated from proto/schema/k8s.schema by gen_schema.awk: do not edit. */"
	print "#include \"pbschema.h\""
	print ""
	for (m = 0; m < nm; m++) {
		printf "static const struct pbs_field f_%s[] = {\n", cname(mname[m])
		for (i = 0; i < nf[m]; i++) {
			t = ftype[m, i]; card = "PBS_ONE"
			if (t ~ /^\[\]/) { card = "PBS_REPEATED"; t = substr(t, 3) }
			else if (t ~ /^\{\}/) { card = "PBS_MAP"; t = substr(t, 3) }
			ref = -1
			if (t == "string") ty = "PBS_STRING"
			else if (t == "int32") ty = "PBS_INT32"
			else if (t == "int64") ty = "PBS_INT64"
			else if (t == "bool") ty = "PBS_BOOL"
			else if (t == "bytes") ty = "PBS_BYTES"
			else if (t in midx) { ty = "PBS_MESSAGE"; ref = midx[t] }
			else { FNR = 0; fail("unknown type " ftype[m, i] " in " mname[m] "." fjson[m, i]) }
			fl = "0"
			if (fflags[m, i] ~ /ptr/) fl = fl "|PBS_PTR"
			if (fflags[m, i] ~ /inline/) fl = fl "|PBS_INLINE"
			if (fflags[m, i] ~ /set/) fl = fl "|PBS_LIST_SET"
			if (fflags[m, i] ~ /atomic/) fl = fl "|PBS_LIST_ATOMIC"
			keys = fkeys[m, i] == "" ? "NULL" : "\"" fkeys[m, i] "\""
			printf "\t{\"%s\", %d, %s, %s, %d, %s, %s},\n", fjson[m, i], fnum[m, i], ty, card, ref, fl, keys
		}
		print "};"
	}
	print ""
	printf "const struct pbs_message pbs_messages[] = {\n"
	for (m = 0; m < nm; m++)
		printf "\t{\"%s\", PBS_SPECIAL_%s, f_%s, %d, %d},\n", mname[m], mspecial[m], cname(mname[m]), nf[m], matomic[m]
	print "};"
	if (npb < 0) npb = nm
	printf "const int pbs_messages_count = %d;\n", npb
	printf "const int pbs_all_messages_count = %d;\n\n", nm
	printf "const struct pbs_kind pbs_kinds[] = {\n"
	for (k = 0; k < nk; k++) {
		if (!(kmsg[k] in midx)) { FNR = 0; fail("kind " kkind[k] ": unknown message " kmsg[k]) }
		printf "\t{\"%s\", \"%s\", %d, %d},\n", kav[k], kkind[k], midx[kmsg[k]], midx[klist[k]]
	}
	print "};"
	printf "const int pbs_kinds_count = %d;\n", nk
	printf "const struct pbs_kind pbs_json_kinds[] = {\n"
	for (k = 0; k < nc; k++) {
		if (!(cmsg[k] in midx)) { FNR = 0; fail("crd " ckind[k] ": unknown message " cmsg[k]) }
		printf "\t{\"%s\", \"%s\", %d, -1},\n", cav[k], ckind[k], midx[cmsg[k]]
	}
	if (nc == 0) print "\t{NULL, NULL, -1, -1},"
	print "};"
	printf "const int pbs_json_kinds_count = %d;\n\n", nc
	# Facts beyond protobuf (schemameta.h): descriptions, versions, enums.
	print "#include \"schemameta.h\""
	for (m = 0; m < nm; m++) {
		printf "static const struct sch_field_meta fm_%s[] = {\n", cname(mname[m])
		for (i = 0; i < nf[m]; i++)
			printf "\t{%d, %d, %d, %s, %s, %s, %d, %s, %s, %s, %s},\n", fsince[m, i], freq[m, i], fpres[m, i], \
				fdesc[m, i] == "" ? "NULL" : "\"" fdesc[m, i] "\"", fenum[m, i] == "" ? "NULL" : "\"" fenum[m, i] "\"", \
				fdef[m, i] == "" ? "NULL" : cstr(fdef[m, i]), fdefroot[m, i] + 0, fv[m, i] == "" ? "0" : fv[m, i], sprintf("%.1f", fmin[m, i] + 0), sprintf("%.1f", fmax[m, i] + 0), \
				ffmt[m, i] == "" ? "NULL" : cstr(ffmt[m, i])
		if (nf[m] == 0) print "\t{0, 0, 0, NULL, NULL, NULL, 0, 0, 0.0, 0.0, NULL},"
		print "};"
	}
	printf "const struct sch_message_meta sch_messages[] = {\n"
	for (m = 0; m < nm; m++)
		printf "\t{%s, fm_%s},\n", mdesc[m] == "" ? "NULL" : "\"" mdesc[m] "\"", cname(mname[m])
	print "};"
	printf "const struct sch_crd_kind sch_crd_kinds[] = {\n"
	for (k = 0; k < nc; k++) {
		if (!(cmsg[k] in midx)) { FNR = 0; fail("crd " ckind[k] ": unknown message " cmsg[k]) }
		printf "\t{\"%s\", \"%s\", %d},\n", cav[k], ckind[k], midx[cmsg[k]]
	}
	if (nc == 0) print "\t{NULL, NULL, -1},"
	print "};"
	printf "const int sch_crd_kinds_count = %d;\n", nc
	# Table columns (schemacols.h).
	print ""
	print "#include \"kinds.h\""
	print "#include \"schemacols.h\""
	for (t = 0; t < ntab; t++) {
		tn = tname[t]
		printf "static const struct sch_column cols_%s[] = {\n", tn
		for (c = 0; c < tcols[tn]; c++)
			printf "\t{%s, \"%s\", %d, %s, %s, %s, %s},\n", cstr(cname_[tn, c]), ctype[tn, c], cprio[tn, c], \
				cstr(csrc[tn, c]), cpath[tn, c] == "" ? "NULL" : cstr(cpath[tn, c]), \
				carg[tn, c] == "" ? "NULL" : cstr(carg[tn, c]), cdesc[tn, c] == "" ? "NULL" : "\"" cdesc[tn, c] "\""
		print "\t{NULL, NULL, 0, NULL, NULL, NULL, NULL},"
		print "};"
	}
	print "const struct sch_column *const sch_table_layouts[] = {"
	for (t = 0; t < ntab; t++)
		printf "\t[%s] = cols_%s,\n", tname[t], tname[t]
	print "};"
	print "const int sch_table_layouts_count = (int)(sizeof sch_table_layouts / sizeof sch_table_layouts[0]);"
}
