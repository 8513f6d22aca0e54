#!/bin/bash
# POSIX ACLs through the mount, compared with a native directory: setfacl,
# getfacl, what they let another user do, chmod's effect on them, default
# ACLs handed down (and the umask they replace), set-group-ID clearing, cp
# -a.  Then a mount without default_permissions, which enforces nothing,
# refuses to set an ACL (EOPNOTSUPP) rather than keep one it ignores.
#
# usage: acl.sh MOUNT_DIR NATIVE_DIR   (both made afresh; root, setfacl,
# runuser; mount_store from run.sh for the second mount)

set -u
mnt=$1 native=$2
failed=0
result() {
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; fi
}

# the same steps in either directory; each section's output is compared
steps() {
	local d=$1
	cd "$d" || return
	umask 022
	as() { runuser -u nobody -- "$@" 2>&1 | sed "s|$d|D|g"; echo "rc=${PIPESTATUS[0]}"; }
	show() { stat -c '%n %A %a %U:%G' "$@"; getfacl -cp "$@" 2>&1; }

	echo "== deny a named user"
	echo secret > f
	setfacl -m u:nobody:--- f; echo "setfacl rc=$?"
	show f
	as cat f

	echo "== grant a named user what the mode does not"
	echo hi > g; chmod 600 g
	setfacl -m u:nobody:rw g
	show g
	as cat g
	as sh -c 'echo more >> g'

	echo "== chmod narrows the mask"
	chmod 600 g
	show g
	as cat g
	chmod 664 g
	show g

	echo "== named group, removing an entry, removing all"
	setfacl -m g:nogroup:r-x,u:nobody:r f
	show f
	setfacl -x u:nobody f
	show f
	setfacl -b f
	show f
	ls -l f | cut -c1-11

	echo "== default ACL handed down, no umask under it"
	mkdir dd
	setfacl -d -m u:nobody:rwx,g::rwx dd
	show dd
	touch dd/x; mkdir dd/sub; mkfifo dd/p
	(umask 077; touch dd/y; mkdir dd/z)
	show dd/x dd/sub dd/p dd/y dd/z
	(umask 077; touch plain; mkdir plaind)
	show plain plaind

	echo "== a named user creates where only an ACL lets it"
	setfacl -m u:nobody:rwx dd
	as touch dd/byacl
	show dd/byacl
	as mkdir dd/sub/deeper
	show dd/sub/deeper
	setfacl -k dd
	show dd

	echo "== a default ACL on a file"
	setfacl -d -m u:nobody:r f; echo "rc=$?"

	echo "== set-group-ID goes when an owner outside the group sets an ACL"
	touch ng; chown nobody:root ng; chmod 2775 ng
	as setfacl -m u:root:r ng
	show ng
	mkdir ngd; chown nobody:root ngd; chmod 2775 ngd
	as setfacl -m u:root:rx ngd
	show ngd
	touch rg; chmod 2775 rg
	setfacl -m u:nobody:r rg
	show rg

	echo "== cp -a keeps ACLs"
	setfacl -m u:nobody:r-x g
	cp -a g g2
	show g2
	cp -a dd dd2
	show dd2 dd2/x
}

rm -rf "$mnt" "$native"
mkdir -p "$mnt" "$native"
chmod 755 "$mnt" "$native"
got=$(steps "$mnt" 2>&1 | sed "s|$mnt|D|g")
want=$(steps "$native" 2>&1 | sed "s|$native|D|g")
sections=$(grep '^== ' <<<"$want")
while IFS= read -r s; do
	a=$(awk -v s="$s" '$0 == s { on = 1; next } /^== / { on = 0 } on' <<<"$got")
	b=$(awk -v s="$s" '$0 == s { on = 1; next } /^== / { on = 0 } on' <<<"$want")
	[ "$a" = "$b" ]
	result $? "ACLs as on ext4: ${s#== }"
	[ "$a" = "$b" ] || diff <(echo "$b") <(echo "$a") | sed 's/^/    /'
done <<<"$sections"
# the checks must have run: getfacl printed entries and the denied read failed
grep -q 'user:nobody:---' <<<"$got" && grep -q 'Permission denied' <<<"$got"
result $? "the ACL steps ran (an entry shown, a read denied)"

# an ACL set through another mount applies here within attr_timeout (1 s)
other=$(mktemp -d /tmp/pgfs-fuse-acl2.XXXXXX)
chmod 755 "$other"
if mount_store "$other" -o allow_other,default_permissions; then
	sub=${mnt#"$MNT"}
	echo open > "$mnt/shared"
	chmod 644 "$mnt/shared"
	runuser -u nobody -- cat "$other$sub/shared" > /dev/null 2>&1
	result $? "another mount: readable before the ACL"
	setfacl -m u:nobody:--- "$mnt/shared"
	sleep 1.5
	! runuser -u nobody -- cat "$other$sub/shared" > /dev/null 2>&1
	result $? "another mount: an ACL denying the read applies after attr_timeout"
	setfacl -b "$mnt/shared"
	sleep 1.5
	runuser -u nobody -- cat "$other$sub/shared" > /dev/null 2>&1
	result $? "another mount: and its removal too"
	fusermount3 -u "$other"
else
	result 1 "a second mount, with default_permissions"
fi
rmdir "$other"

# without default_permissions nothing enforces an ACL: setting one is refused
second=$(mktemp -d /tmp/pgfs-fuse-noperm.XXXXXX)
chmod 755 "$second"
if mount_store "$second"; then
	sub=${mnt#"$MNT"}
	out=$(setfacl -m u:nobody:--- "$second$sub/f" 2>&1)
	rc=$?
	[ $rc -ne 0 ] && grep -q 'Operation not supported' <<<"$out"
	result $? "a mount without default_permissions refuses to set an ACL (EOPNOTSUPP)"
	[ "$(getfacl -cp "$second$sub/g" 2>/dev/null | grep -c nobody)" = 1 ]
	result $? "... and still shows the ACLs stored"
	fusermount3 -u "$second"
else
	result 1 "a second mount, without default_permissions"
fi
rmdir "$second"
rm -rf "$native"
exit $failed
