// The script tag with pixel syncs and cookie destinations: the feature registers first,
// then the standard entry drains the command queue.
import './register-destinations';
import './script-tag';
